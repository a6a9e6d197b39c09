import Foundation
import GatewayAuth
import NATSTestSupport
import Testing
import XYCore

@Suite("JWKS key store against a real HTTP server")
struct GatewayKeyStoreTests {
    static func document(_ keys: [(TokenSigningKey, String)]) throws -> String {
        let jwks = try keys.map { key, kid in try key.jwksJSON(keyID: kid) }
        // Each jwksJSON is {"keys":[…]}: merge their key arrays.
        let arrays = try jwks.map { json -> [Any] in
            let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
            return object["keys"] as! [Any]
        }
        return String(decoding: try JSONSerialization.data(withJSONObject: ["keys": arrays.flatMap { $0 }]), as: UTF8.self)
    }

    func expectRefused(_ token: String, _ verifier: TokenVerifier, reason: String) async {
        do {
            _ = try await verifier.verify(token)
            Issue.record("accepted a token that must be refused")
        } catch {
            #expect(error.code == .jwtInvalid)
            #expect(error.reason.contains(reason), "reason: \(error.reason)")
        }
    }

    @Test("keys by kid; a new kid appears (rotation) and is fetched on first use, rate-limited; removed kids are refused")
    func rotationAndRateLimit() async throws {
        let server = try await TestHTTPServer.start()
        defer { Task { try? await server.stop() } }
        server.serve("/jwks.json", try Self.document([(TestKeys.es256, "k1")]))
        let clock = ManualClock()
        let store = GatewayKeyStore(jwksURL: server.url + "/jwks.json", minimumRefreshInterval: .seconds(10), now: clock.now)
        let verifier = TokenVerifier(keys: store)

        try await store.load()
        #expect(server.requests == 1)
        #expect(await store.keyIDs == ["k1"])
        let k1Token = try await TestKeys.es256.sign(TestKeys.payload(), keyID: "k1")
        #expect(try await verifier.verify(k1Token).keyID == "k1")
        _ = try await verifier.verify(k1Token)
        #expect(server.requests == 1, "a known kid never causes a fetch")

        // A token without kid cannot pick a JWKS key.
        await expectRefused(try await TestKeys.es256.sign(TestKeys.payload()), verifier, reason: "no kid")

        // Rotation: k2 (RS256) is published; within 10 s of the last fetch it is not fetched yet.
        server.serve("/jwks.json", try Self.document([(TestKeys.es256, "k1"), (TestKeys.rs256, "k2")]))
        let k2Token = try await TestKeys.rs256.sign(TestKeys.payload(), keyID: "k2")
        await expectRefused(k2Token, verifier, reason: "rate-limited")
        #expect(server.requests == 1)
        clock.advance(by: .seconds(11))
        #expect(try await verifier.verify(k2Token).algorithm == "RS256")
        #expect(server.requests == 2)
        #expect(await store.keyIDs == ["k1", "k2"])

        // A key's kid with another algorithm's token: refused.
        let mixed = try await TestKeys.es256.sign(TestKeys.payload(), keyID: "k2")
        await expectRefused(mixed, verifier, reason: "does not match")

        // Made-up kids: one fetch, then refusals without fetching until 10 s have passed.
        clock.advance(by: .seconds(11))
        await expectRefused(try await TestKeys.es256.sign(TestKeys.payload(), keyID: "bogus1"), verifier, reason: "not in the JWKS after refresh")
        #expect(server.requests == 3)
        for index in 2...20 {
            await expectRefused(try await TestKeys.es256.sign(TestKeys.payload(), keyID: "bogus\(index)"), verifier, reason: "rate-limited")
        }
        #expect(server.requests == 3)

        // Many concurrent unknown kids share one fetch.
        clock.advance(by: .seconds(11))
        let tokens = try await (0..<16).asyncMap { try await TestKeys.es256.sign(TestKeys.payload(), keyID: "storm\($0)") }
        await withTaskGroup(of: Void.self) { group in
            for token in tokens {
                group.addTask { _ = try? await verifier.verify(token) }
            }
        }
        #expect(server.requests == 4)

        // Periodic refresh: after 5 minutes a known kid answers at once and refreshes in the background.
        server.serve("/jwks.json", try Self.document([(TestKeys.rs256, "k2")]))
        clock.advance(by: .seconds(301))
        _ = try await verifier.verify(k1Token)
        try await server.waitForRequests(5)
        try await waitUntil("the background refresh to replace the keys", timeout: .seconds(10), every: .milliseconds(10)) {
            await store.keyIDs == ["k2"]
        }
        // k1 was removed from the JWKS: refused from now on.
        await expectRefused(k1Token, verifier, reason: "unknown kid")
        _ = try await verifier.verify(k2Token)

        // A failed refresh (404) keeps the keys in use.
        server.serve("/jwks.json", nil)
        clock.advance(by: .seconds(301))
        _ = try await verifier.verify(k2Token)
        try await server.waitForRequests(6)
        // An unknown kid waits for the fetch in flight (or finds it done and is rate-limited):
        // either way the failed refresh has been handled when it is refused.
        await expectRefused(try await TestKeys.es256.sign(TestKeys.payload(), keyID: "k3"), verifier, reason: "unknown kid")
        _ = try await verifier.verify(k2Token)
        #expect(await store.keyIDs == ["k2"])
    }

    @Test("EdDSA keys from a JWKS; HMAC (oct) keys in a JWKS are skipped, never used")
    func eddsaAndOctKeys() async throws {
        let server = try await TestHTTPServer.start()
        defer { Task { try? await server.stop() } }
        let ed = try TestKeys.eddsa.jwksJSON(keyID: "ed")
        var object = try JSONSerialization.jsonObject(with: Data(ed.utf8)) as! [String: Any]
        let octKey: [String: Any] = ["kty": "oct", "kid": "hs", "alg": "HS256", "k": TestKeys.base64URL("secret")]
        object["keys"] = (object["keys"] as! [Any]) + [octKey]
        server.serve("/keys", String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self))
        let store = GatewayKeyStore(jwksURL: server.url + "/keys")
        try await store.load()
        #expect(await store.keyIDs == ["ed"])
        let verifier = TokenVerifier(keys: store)
        #expect(try await verifier.verify(try await TestKeys.eddsa.sign(TestKeys.payload(), keyID: "ed")).algorithm == "EdDSA")
    }

    @Test("lookups during the first load wait for it and share its one fetch")
    func lookupsDuringLoad() async throws {
        let server = try await TestHTTPServer.start()
        defer { Task { try? await server.stop() } }
        server.serve("/jwks.json", try Self.document([(TestKeys.es256, "k1")]))
        let store = GatewayKeyStore(jwksURL: server.url + "/jwks.json")
        let verifier = TokenVerifier(keys: store)
        let token = try await TestKeys.es256.sign(TestKeys.payload(), keyID: "k1")
        async let loaded: Void = store.load()
        async let first = verifier.verify(token)
        async let second = verifier.verify(token)
        try await loaded
        #expect(try await first.subject == "alice")
        #expect(try await second.subject == "alice")
        #expect(server.requests == 1)
    }

    @Test("load fails on a 404, on a JWKS without usable keys, and on a closed port")
    func loadFailures() async throws {
        let server = try await TestHTTPServer.start()
        server.serve("/empty", #"{"keys":[{"kty":"oct","kid":"hs","k":"c2VjcmV0"}]}"#)
        server.serve("/junk", "not json")
        for path in ["/missing", "/empty", "/junk"] {
            await #expect(throws: (any Error).self) { try await GatewayKeyStore(jwksURL: server.url + path).load() }
        }
        let url = server.url
        try await server.stop()
        await #expect(throws: (any Error).self) { try await GatewayKeyStore(jwksURL: url + "/keys").load() }
        // The first lookup of a store that never loaded fetches, and refuses when that fails.
        let verifier = TokenVerifier(keys: GatewayKeyStore(jwksURL: url + "/keys"))
        await expectRefused(try await TestKeys.es256.sign(TestKeys.payload(), keyID: "k1"), verifier, reason: "unknown kid")
    }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}

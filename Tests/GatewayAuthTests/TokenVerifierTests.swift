import Foundation
import GatewayAuth
import JWTKit
import Testing
import XYCore

@Suite("Token verification")
struct TokenVerifierTests {
    /// Verifies and expects an XYW005 refusal whose log reason mentions `reasonPart`.
    func expectRefused(_ token: String, by verifier: TokenVerifier, reason reasonPart: String, now: Date = Date()) async {
        do {
            let claims = try await verifier.verify(token, now: now)
            Issue.record("accepted a token that must be refused: \(claims)")
        } catch {
            #expect(error.code == .jwtInvalid)
            #expect(error.httpStatus == 401)
            #expect(error.message == "invalid token")
            #expect(error.jsonBody == #"{"code":"XYW005","message":"invalid token"}"#)
            #expect(error.reason.contains(reasonPart), "reason: \(error.reason)")
            #expect(!error.reason.contains(token), "the reason must never carry the token")
        }
    }

    @Test("ES256, RS256 and EdDSA tokens verify and yield their claims", arguments: ["ES256", "RS256", "EdDSA"])
    func acceptsEachAlgorithm(algorithm: String) async throws {
        let key = [TestKeys.es256, TestKeys.rs256, TestKeys.eddsa].first { $0.algorithm == algorithm }!
        let verifier = try await TestKeys.staticVerifier(key)
        var payload = TestKeys.payload(subjects: ["xy.md.tick.*"], maxSubs: 7)
        payload.roles = ["admin", "ops"]
        let token = try await key.sign(payload, keyID: "any")
        let claims = try await verifier.verify(token)
        #expect(claims.subject == "alice")
        #expect(claims.grants == ["xy.md.tick.*"])
        #expect(claims.maxSubscriptions == 7)
        #expect(claims.roles == ["admin", "ops"])
        #expect(claims.algorithm == algorithm)
        #expect(claims.keyID == "any")
    }

    @Test("absent subjects claim means the whitelist; role and roles merge")
    func defaultsAndRoles() async throws {
        let verifier = try await TestKeys.staticVerifier(TestKeys.es256)
        var payload = TestKeys.payload(subjects: nil)
        payload.role = "admin"
        let claims = try await verifier.verify(try await TestKeys.es256.sign(payload))
        #expect(claims.grants == nil)
        #expect(claims.maxSubscriptions == nil)
        #expect(claims.roles == ["admin"])
        #expect(claims.subjectGrants().grants == nil)
    }

    @Test("alg none is refused, with or without a signature part")
    func refusesNone() async throws {
        let verifier = try await TestKeys.staticVerifier(TestKeys.es256)
        await expectRefused(try TestKeys.unsignedToken(TestKeys.payload()), by: verifier, reason: "alg none refused")
        await expectRefused(try TestKeys.unsignedToken(TestKeys.payload(), alg: "NONE"), by: verifier, reason: "alg none refused")
        // A real ES256 signature glued to a `none` header does not help either.
        let signed = try await TestKeys.es256.sign(TestKeys.payload())
        let parts = signed.split(separator: ".")
        let forged = TestKeys.base64URL(#"{"alg":"none"}"#) + "." + parts[1] + "." + parts[2]
        await expectRefused(forged, by: verifier, reason: "alg none refused")
    }

    @Test("HS256 signed with the public key PEM as secret is refused, although jwt-kit would accept it with that key")
    func refusesHMACWithPublicKey() async throws {
        for key in [TestKeys.es256, TestKeys.rs256] {
            let publicPEM = key.publicKeyPEM
            let attacker = JWTKeyCollection()
            await attacker.add(hmac: HMACKey(from: publicPEM), digestAlgorithm: .sha256)
            let token = try await attacker.sign(TestKeys.payload())
            // The forged token is genuinely valid HS256 for the PEM bytes: a verifier that let the
            // token's alg pick the algorithm would accept it.
            let naive: GatewayTokenPayload = try await attacker.verify(token)
            #expect(naive.sub?.value == "alice")

            let verifier = try await TestKeys.staticVerifier(key)
            await expectRefused(token, by: verifier, reason: "alg HS256 refused")
        }
        for hmac in ["HS384", "HS512"] {
            let verifier = try await TestKeys.staticVerifier(TestKeys.es256)
            await expectRefused(try TestKeys.unsignedToken(TestKeys.payload(), alg: hmac) + "c2ln", by: verifier, reason: "alg \(hmac) refused")
        }
    }

    @Test("other algorithms, and an alg that is not the key's, are refused")
    func refusesOtherAlgorithms() async throws {
        let verifier = try await TestKeys.staticVerifier(TestKeys.es256)
        await expectRefused(try TestKeys.unsignedToken(TestKeys.payload(), alg: "PS256") + "c2ln", by: verifier, reason: "only ES256, RS256 and EdDSA")
        // An RS256 token presented to an ES256 key.
        let rsToken = try await TestKeys.rs256.sign(TestKeys.payload())
        await expectRefused(rsToken, by: verifier, reason: "alg RS256 does not match the key's ES256")
    }

    @Test("a token signed by another key is refused: bad signature")
    func refusesOtherKey() async throws {
        let verifier = try await TestKeys.staticVerifier(TestKeys.es256)
        await expectRefused(try await TestKeys.es256Other.sign(TestKeys.payload()), by: verifier, reason: "bad signature")
    }

    @Test("a tampered payload is refused: bad signature")
    func refusesTamperedPayload() async throws {
        let verifier = try await TestKeys.staticVerifier(TestKeys.es256)
        let token = try await TestKeys.es256.sign(TestKeys.payload(subjects: ["xy.md.tick.demo"]))
        let parts = token.split(separator: ".").map(String.init)
        let payload = try #require(Data(base64Encoded: parts[1].padding(toLength: (parts[1].count + 3) / 4 * 4, withPad: "=", startingAt: 0)
            .replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")))
        let widened = String(decoding: payload, as: UTF8.self).replacingOccurrences(of: "xy.md.tick.demo", with: "xy.>")
        #expect(widened.contains("xy.>"))
        let tampered = parts[0] + "." + TestKeys.base64URL(widened) + "." + parts[2]
        await expectRefused(tampered, by: verifier, reason: "bad signature")
    }

    @Test("expired and not-yet-valid tokens are refused beyond the leeway, accepted within it")
    func timeChecks() async throws {
        let verifier = try await TestKeys.staticVerifier(TestKeys.es256)
        let now = Date()
        let expired = try await TestKeys.es256.sign(TestKeys.payload(expires: now.addingTimeInterval(-31)))
        await expectRefused(expired, by: verifier, reason: "expired at", now: now)
        let justExpired = try await TestKeys.es256.sign(TestKeys.payload(expires: now.addingTimeInterval(-20)))
        _ = try await verifier.verify(justExpired, now: now)

        let early = try await TestKeys.es256.sign(TestKeys.payload(notBefore: now.addingTimeInterval(120)))
        await expectRefused(early, by: verifier, reason: "not valid before", now: now)
        let almost = try await TestKeys.es256.sign(TestKeys.payload(notBefore: now.addingTimeInterval(20)))
        _ = try await verifier.verify(almost, now: now)

        var strict = verifier
        strict.leeway = .zero
        await expectRefused(justExpired, by: strict, reason: "expired at", now: now)
        await expectRefused(almost, by: strict, reason: "not valid before", now: now)

        var noExpiry = TestKeys.payload()
        noExpiry.exp = nil
        await expectRefused(try await TestKeys.es256.sign(noExpiry), by: verifier, reason: "no exp")
    }

    @Test("iss and aud are checked when configured")
    func issuerAndAudience() async throws {
        let verifier = try await TestKeys.staticVerifier(TestKeys.es256, issuer: "https://id.xy", audience: "xy-gateway")
        let good = try await TestKeys.es256.sign(TestKeys.payload(issuer: "https://id.xy", audience: "xy-gateway"))
        let claims = try await verifier.verify(good)
        #expect(claims.issuer == "https://id.xy" && claims.audience == ["xy-gateway"])
        await expectRefused(try await TestKeys.es256.sign(TestKeys.payload(issuer: "https://evil", audience: "xy-gateway")), by: verifier, reason: "iss")
        await expectRefused(try await TestKeys.es256.sign(TestKeys.payload(audience: "xy-gateway")), by: verifier, reason: "iss \"absent\"")
        await expectRefused(try await TestKeys.es256.sign(TestKeys.payload(issuer: "https://id.xy", audience: "other")), by: verifier, reason: "aud")
        await expectRefused(try await TestKeys.es256.sign(TestKeys.payload(issuer: "https://id.xy")), by: verifier, reason: "aud")
        // Not configured: any iss/aud passes.
        let open = try await TestKeys.staticVerifier(TestKeys.es256)
        _ = try await open.verify(try await TestKeys.es256.sign(TestKeys.payload(issuer: "https://evil", audience: "other")))
    }

    @Test("a token without sub, or with a blank one, is refused")
    func missingSubject() async throws {
        let verifier = try await TestKeys.staticVerifier(TestKeys.es256)
        await expectRefused(try await TestKeys.es256.sign(TestKeys.payload(sub: nil)), by: verifier, reason: "no sub")
        await expectRefused(try await TestKeys.es256.sign(TestKeys.payload(sub: " ")), by: verifier, reason: "no sub")
    }

    @Test("malformed tokens are refused with a reason")
    func malformed() async throws {
        let verifier = try await TestKeys.staticVerifier(TestKeys.es256)
        await expectRefused("abc", by: verifier, reason: "not three")
        await expectRefused("a.b.c.d", by: verifier, reason: "not three")
        await expectRefused("!!.e30.", by: verifier, reason: "header is not base64url JSON")
        await expectRefused(TestKeys.base64URL(#"{"typ":"JWT"}"#) + ".e30.", by: verifier, reason: "no alg")
        await expectRefused(TestKeys.base64URL(#"{"alg":"ES256","crit":["x"]}"#) + ".e30.c2ln", by: verifier, reason: "crit")
        await expectRefused(String(repeating: "a", count: 9000), by: verifier, reason: "longer than")
        let signed = try await TestKeys.es256.sign(TestKeys.payload())
        let parts = signed.split(separator: ".")
        // A payload swapped for other bytes no longer matches its signature.
        await expectRefused(String(parts[0]) + ".bm90IGpzb24." + String(parts[2]), by: verifier, reason: "bad signature")
    }
}

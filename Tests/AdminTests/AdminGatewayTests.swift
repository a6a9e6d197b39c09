import Foundation
import GatewayClient
import NATSTestSupport
import Testing

/// The real `xy-gateway` executable verifying xy-admin's tokens through its JWKS URL
/// (`JWT_JWKS_URL`, GatewayAuth's JWKSFetcher), before and after a signing-key rotation.
@Suite("xy-admin: the gateway accepts its tokens")
struct AdminGatewayTests {
    @Test("a login's token opens a WebSocket; after a rotation the new kid is fetched and the old token still works")
    func gatewayAcceptsTokens() async throws {
        let harness = try await AdminHarness.start()
        let gateway = try ManagedProcess("xy-gateway", environment: [
            "NATS_URLS": harness.nats.url,
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": "0",
            "JWT_JWKS_URL": "http://127.0.0.1:\(harness.port)/.well-known/jwks.json",
            "WS_ALLOWED_ORIGINS": "http://app.test",
            "WS_STATIC_DIR": "",
            "LOG_LEVEL": "debug",
        ])
        do {
            let port = try await Int(gateway.waitForOutput { text in
                for line in text.split(separator: "\n") where line.contains("\"msg\":\"gateway listening\"") {
                    if let start = line.range(of: "\"http_port\":\"") {
                        return String(line[start.upperBound...].prefix { $0.isNumber })
                    }
                }
                return nil
            }) ?? 0

            let before = try await harness.account("lena").access
            let accepted = try await Self.connect(port: port, token: before)
            #expect(accepted.response.status == 101, "\(accepted.response.body)")
            await accepted.close()

            let oldKid = await harness.handle.currentKeyID()
            try await harness.handle.rotateSigningKey()
            let newKid = await harness.handle.currentKeyID()
            #expect(oldKid != newKid)
            let jwks = try await harness.request("GET", "/.well-known/jwks.json").json["keys"] as? [[String: Any]] ?? []
            #expect(jwks.compactMap { $0["kid"] as? String } == [newKid, oldKid].compactMap { $0 }, "the previous key stays until its tokens expire")

            let after = try await harness.request("POST", "/api/v1/auth/login", json: #"{"username":"lena","password":"correct horse battery"}"#)
            let rotated = try #require(after.json["access_token"] as? String)
            // The gateway fetches the JWKS again for an unknown kid at most once per 10 s: retry until then.
            let deadline = ContinuousClock.now + .seconds(30)
            var status = 0
            while ContinuousClock.now < deadline {
                let connection = try await Self.connect(port: port, token: rotated)
                status = connection.response.status
                await connection.close()
                if status == 101 { break }
                try await Task.sleep(for: .milliseconds(500))
            }
            #expect(status == 101, "a token signed with the new key")
            let old = try await Self.connect(port: port, token: before)
            #expect(old.response.status == 101, "a token of the previous key, still in the JWKS")
            await old.close()
            let forged = try await Self.connect(port: port, token: String(rotated.dropLast(4)) + "AAAA")
            #expect(forged.response.status == 401)
            await forged.close()
        } catch {
            await gateway.terminate()
            await harness.stop()
            throw error
        }
        await gateway.terminate()
        await harness.stop()
    }

    static func connect(port: Int, token: String) async throws -> WebSocketConnection {
        try await WebSocketConnection.connect(host: "127.0.0.1", port: port, path: "/ws", headers: [("Authorization", "Bearer \(token)")])
    }
}

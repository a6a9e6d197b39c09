import Foundation
import GatewayAuth
import GatewayClient
import Crypto
import NATSTestSupport
import NIOCore
import Testing

/// The upgrade as a browser and an attacker see it: every refusal is an HTTP answer with its
/// status and `{"code","message"}` before any WebSocket frame; an accepted one names the
/// application subprotocol and never echoes the token.
@Suite("xy-gateway: authentication at the upgrade")
struct GatewayUpgradeTests {
    private func expectRefused(_ connection: WebSocketConnection, status: Int, code: String, _ comment: Comment? = nil) throws {
        #expect(connection.response.status == status, comment)
        let body = try JSONSerialization.jsonObject(with: Data(connection.response.body.utf8)) as? [String: Any]
        #expect(body?["code"] as? String == code, comment)
        #expect((body?["message"] as? String)?.isEmpty == false, comment)
    }

    @Test("every refusal: 401 XYW001 without a token, 401 XYW005 for a bad token, 403 XYW001 for a foreign Origin")
    func refusals() async throws {
        try await withHarness { harness in
            try expectRefused(try await harness.connect(token: nil), status: 401, code: "XYW001", "no token")

            let good = try await harness.token()
            try expectRefused(try await harness.connect(token: good, origin: "http://evil.test"), status: 403, code: "XYW001", "foreign Origin")
            try expectRefused(try await harness.connect(token: good, origin: nil), status: 403, code: "XYW001", "browser form without Origin")

            let payload = GatewayTokenPayload(sub: "tester", subjects: ["xy.md.>"], expires: Date().addingTimeInterval(3600))
            let body = try JSONEncoder().encode(payload)
            let none = Self.base64URL(Data(#"{"alg":"none","typ":"JWT"}"#.utf8)) + "." + Self.base64URL(body) + "."
            try expectRefused(try await harness.connect(token: none), status: 401, code: "XYW005", "alg none")

            // HS256 keyed with the public key's PEM text: the classic algorithm-confusion attack.
            let signingInput = Self.base64URL(Data(#"{"alg":"HS256","typ":"JWT","kid":"test"}"#.utf8)) + "." + Self.base64URL(body)
            let mac = HMAC<SHA256>.authenticationCode(for: Data(signingInput.utf8), using: SymmetricKey(data: Data(harness.key.publicKeyPEM.utf8)))
            let hs256 = signingInput + "." + Self.base64URL(Data(mac))
            try expectRefused(try await harness.connect(token: hs256), status: 401, code: "XYW005", "HS256 signed with the public key")

            let expired = try await harness.token(expires: Date().addingTimeInterval(-600))
            try expectRefused(try await harness.connect(token: expired), status: 401, code: "XYW005", "expired")
            let early = try await harness.token(notBefore: Date().addingTimeInterval(600))
            try expectRefused(try await harness.connect(token: early), status: 401, code: "XYW005", "not yet valid")

            let stranger = try await TokenSigningKey.generateES256().sign(payload, keyID: "other")
            try expectRefused(try await harness.connect(token: stranger), status: 401, code: "XYW005", "unknown kid / foreign key")

            var parts = good.split(separator: ".").map(String.init)
            let tampered = GatewayTokenPayload(sub: "root", subjects: [">"], expires: Date().addingTimeInterval(3600))
            parts[1] = Self.base64URL(try JSONEncoder().encode(tampered))
            try expectRefused(try await harness.connect(token: parts.joined(separator: ".")), status: 401, code: "XYW005", "tampered payload")

            #expect(try harness.metric("xy_ws_auth_failures_total", labels: "code=\"XYW005\"") ?? 0 >= 6)
            #expect(!harness.gateway.log.contains(good), "the token never reaches the log")
        }
    }

    @Test("accepted: 101 with xy.v1.json, the token never echoed; bearer header, query and cookie work too")
    func accepted() async throws {
        try await withHarness { harness in
            let token = try await harness.token()
            let browser = try await harness.connect(token: token, protocols: [])
            #expect(browser.response.status == 101)
            #expect(browser.response.header("Sec-WebSocket-Protocol") == "xy.v1.json")
            #expect(browser.response.headers.allSatisfy { !$0.value.contains(token) })

            let offered = try await harness.connect(token: token, protocols: ["xy.v1.json"], path: "/api/v1/market-data/stream")
            #expect(offered.response.status == 101)
            #expect(offered.response.header("Sec-WebSocket-Protocol") == "xy.v1.json")

            let tool = try await harness.connect(token: nil, origin: nil, protocols: [], extraHeaders: [("Authorization", "Bearer \(token)")])
            #expect(tool.response.status == 101, "a non-browser client with a bearer header needs no Origin")
            #expect(tool.response.header("Sec-WebSocket-Protocol") == nil)

            let query = try await WebSocketConnection.connect(host: "127.0.0.1", port: harness.port, path: "/ws?token=\(token)", headers: [("Origin", GatewayHarness.origin)])
            #expect(query.response.status == 101)
            let cookie = try await harness.connect(token: nil, protocols: [], extraHeaders: [("Cookie", "theme=dark; xy_token=\(token)")])
            #expect(cookie.response.status == 101)

            try await harness.eventually("five clients counted") { try harness.metric("xy_ws_active_connections") == 5 }
            for connection in [browser, offered, tool, query, cookie] { await connection.close() }
            try await harness.eventually("no clients left") { try harness.metric("xy_ws_active_connections") == 0 }
        }
    }

    @Test("plain HTTP on the same port: /healthz, /metrics, 426 without an upgrade, 404 elsewhere, 400 XYW007 without Host")
    func plainHTTP() async throws {
        try await withHarness { harness in
            let health = try harness.health()
            #expect(health["status"] as? String == "ready")
            #expect(health["natsConnected"] as? Bool == true)
            #expect(health["clients"] as? Int == 0)
            #expect(health["uptimeSeconds"] != nil)
            #expect(try harness.get("/metrics").body.contains("xy_ws_active_connections"))
            let plain = try harness.get("/ws")
            #expect(plain.status == 426)
            #expect(plain.body.contains("XYW007"))
            #expect(try harness.get("/nothing-here").status == 404)
            #expect(try harness.get("/../etc/passwd").status == 404)

            // RFC 9112 §3.2: HTTP/1.1 without Host is 400, for a plain request and for an upgrade.
            for request in [
                "GET /healthz HTTP/1.1\r\n\r\n",
                "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: \(GatewayHarness.origin)\r\nSec-WebSocket-Protocol: xy.v1.json, bearer, \(try await harness.token())\r\n\r\n",
            ] {
                let connection = try LoopbackConnection(port: harness.port, timeout: .seconds(10))
                try connection.send(request)
                let answer = String(decoding: try await connection.readToEnd(timeout: .seconds(10)), as: UTF8.self)
                #expect(answer.hasPrefix("HTTP/1.1 400"), "\(request.prefix(8))")
                #expect(answer.contains("\"code\":\"XYW007\""))
                #expect(answer.contains("Host"))
            }
            #expect(try harness.metric("xy_ws_active_connections") == 0, "the upgrade without Host never became a session")
        }
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

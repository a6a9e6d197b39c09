import Foundation
import GatewayAuth
import Testing
import XYCore

@Suite("Authentication at the upgrade")
struct GatewayAuthenticatorTests {
    func authenticator(origins: Set<String> = ["https://app.xy"]) async throws -> GatewayAuthenticator {
        GatewayAuthenticator(verifier: try await TestKeys.staticVerifier(TestKeys.es256), originPolicy: OriginPolicy(allowedOrigins: origins))
    }

    func refusal(_ authenticator: GatewayAuthenticator, method: String = "GET", uri: String = "/ws", _ headers: [(name: String, value: String)]) async -> GatewayAuthError? {
        do {
            _ = try await authenticator.authenticate(method: method, uri: uri, headers: headers)
            return nil
        } catch {
            return error
        }
    }

    @Test("each token source authenticates", arguments: TokenSource.allCases)
    func eachSource(source: TokenSource) async throws {
        let token = try await TestKeys.es256.sign(TestKeys.payload(subjects: ["xy.md.tick.*"]))
        let origin = ("Origin", "https://app.xy")
        let (uri, headers): (String, [(name: String, value: String)]) =
            switch source {
            case .header: ("/ws", [("Authorization", "Bearer \(token)")])
            case .subprotocol: ("/ws", [origin, ("Sec-WebSocket-Protocol", "xy.v1.proto, bearer, \(token)")])
            case .query: ("/ws?token=\(token)", [origin])
            case .cookie: ("/ws", [origin, ("Cookie", "xy_token=\(token)")])
            }
        let upgrade = try await authenticator().authenticate(method: "GET", uri: uri, headers: headers)
        #expect(upgrade.source == source)
        #expect(upgrade.claims.subject == "alice")
        #expect(upgrade.applicationSubprotocol == (source == .subprotocol ? "xy.v1.proto" : "xy.v1.json"))
        #expect(upgrade.responseSubprotocol == (source == .subprotocol ? "xy.v1.proto" : nil))
        try upgrade.grants.authorize("xy.md.tick.demo")
        #expect(throws: GatewayAuthError.self) { try upgrade.grants.authorize("xy.md.bar.AAPL") }
    }

    @Test("no token: 401 XYW001")
    func noToken() async throws {
        let error = await refusal(try await authenticator(), [("Origin", "https://app.xy"), ("Sec-WebSocket-Protocol", "xy.v1.json")])
        #expect(error?.httpStatus == 401)
        #expect(error?.code.rawValue == "XYW001")
        #expect(error?.jsonBody == #"{"code":"XYW001","message":"missing token"}"#)
        #expect(await refusal(try await authenticator(), method: "POST", [("Authorization", "Bearer x.y.z")])?.httpStatus == 401)
    }

    @Test("wrong Origin, or no Origin without a bearer header: 403 XYW001")
    func origin() async throws {
        let token = try await TestKeys.es256.sign(TestKeys.payload())
        let auth = try await authenticator()
        for headers: [(name: String, value: String)] in [
            [("Origin", "https://evil.example"), ("Cookie", "xy_token=\(token)")],
            [("Origin", "https://app.xy.evil.example"), ("Authorization", "Bearer \(token)")],
            [("Origin", "http://app.xy"), ("Sec-WebSocket-Protocol", "bearer, \(token)")],
            [("Cookie", "xy_token=\(token)")],
            [("Sec-WebSocket-Protocol", "bearer, \(token)")],
        ] {
            let error = await refusal(auth, headers)
            #expect(error?.httpStatus == 403)
            #expect(error?.code.rawValue == "XYW001")
            #expect(error?.jsonBody == #"{"code":"XYW001","message":"origin not allowed"}"#)
        }
        // Non-browser client: bearer header, no Origin.
        _ = try await auth.authenticate(method: "GET", uri: "/ws", headers: [("Authorization", "Bearer \(token)")])
        // An empty allow-list admits no browser.
        let closed = try await authenticator(origins: [])
        #expect(await refusal(closed, [("Origin", "https://app.xy"), ("Cookie", "xy_token=\(token)")])?.httpStatus == 403)
        let listed = try GatewayAuthConfiguration(environment: EnvironmentReader(["JWT_JWKS_URL": "http://x", "WS_ALLOWED_ORIGINS": " https://a.xy ,https://b.xy,,"]))
        #expect(listed.originPolicy.allowedOrigins == ["https://a.xy", "https://b.xy"])
    }

    @Test("an invalid token: 401 XYW005 with a generic message; the detail and the token stay out of the body")
    func invalidToken() async throws {
        let expired = try await TestKeys.es256.sign(TestKeys.payload(expires: Date().addingTimeInterval(-3600)))
        let error = try #require(await refusal(try await authenticator(), [("Authorization", "Bearer \(expired)")]))
        #expect(error.httpStatus == 401)
        #expect(error.jsonBody == #"{"code":"XYW005","message":"invalid token"}"#)
        #expect(error.reason.contains("expired"))
        #expect(!error.jsonBody.contains(expired) && !error.reason.contains(expired))
    }

    @Test("configuration from the environment, with the variable named on a bad value")
    func configuration() async throws {
        let pem = TestKeys.es256.publicKeyPEM
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("gwauth-\(UUID().uuidString).pem")
        try pem.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }

        let fromFile = try GatewayAuthConfiguration(environment: EnvironmentReader([
            "JWT_PUBLIC_KEY": file.path, "JWT_ISSUER": "iss", "JWT_AUDIENCE": "aud", "JWT_LEEWAY_SECONDS": "5",
            "WS_ALLOWED_ORIGINS": "https://a.xy,https://b.xy", "WS_SUBJECT_WHITELIST": "xy.md.tick.*",
        ]))
        #expect(fromFile.keySource == .publicKeyPEM(pem))
        #expect(fromFile.issuer == "iss" && fromFile.audience == "aud" && fromFile.leeway == .seconds(5))
        #expect(fromFile.originPolicy.allowedOrigins == ["https://a.xy", "https://b.xy"])
        #expect(fromFile.subjectWhitelist == ["xy.md.tick.*"])
        let defaults = try GatewayAuthConfiguration(environment: EnvironmentReader(["JWT_JWKS_URL": "https://id.example/.well-known/jwks.json"]))
        #expect(defaults.subjectWhitelist == ["xy.md.*"] && defaults.leeway == .seconds(30) && defaults.issuer == nil)
        #expect(defaults.originPolicy.allowedOrigins.isEmpty)
        // The settings a key source alone gets are the variables' defaults, written once.
        let keyOnly = GatewayAuthConfiguration(keySource: .jwksURL("https://id.example/.well-known/jwks.json"))
        #expect(keyOnly == defaults)

        let authenticator = try await GatewayAuthenticator(configuration: fromFile)
        let token = try await TestKeys.es256.sign(TestKeys.payload(issuer: "iss", audience: "aud"))
        let upgrade = try await authenticator.authenticate(method: "GET", uri: "/ws", headers: [("Authorization", "Bearer \(token)")])
        #expect(throws: GatewayAuthError.self) { try upgrade.grants.authorize("xy.md.snapshot.demo") }

        let bad: [([String: String], String)] = [
            ([:], "JWT_JWKS_URL"),
            (["JWT_PUBLIC_KEY": pem, "JWT_JWKS_URL": "http://x"], "JWT_PUBLIC_KEY"),
            (["JWT_PUBLIC_KEY": "/nonexistent.pem"], "JWT_PUBLIC_KEY"),
            (["JWT_JWKS_URL": "ftp://x/jwks"], "JWT_JWKS_URL"),
            (["JWT_JWKS_URL": "http://x", "JWT_LEEWAY_SECONDS": "soon"], "JWT_LEEWAY_SECONDS"),
            (["JWT_JWKS_URL": "http://x", "WS_SUBJECT_WHITELIST": "xy..md"], "WS_SUBJECT_WHITELIST"),
        ]
        for (environment, variable) in bad {
            #expect(throws: ConfigurationError.self) { try GatewayAuthConfiguration(environment: EnvironmentReader(environment)) }
            do {
                _ = try GatewayAuthConfiguration(environment: EnvironmentReader(environment))
            } catch {
                #expect(error.variable == variable)
            }
        }
        let notAKey = GatewayAuthConfiguration(keySource: .publicKeyPEM("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"))
        await #expect(throws: ConfigurationError.self) { _ = try await GatewayAuthenticator(configuration: notAKey) }
    }
}

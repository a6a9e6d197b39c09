import Foundation
import NKeys
import Testing
import XYCore

@testable import NATSTestSupport

/// Each kind of configuration starts a real server that enforces it.
@Suite struct NATSServerConfigurationTests {
    @Test func tlsServerOnly() async throws {
        let server = try await NATSServer.start(.init(tls: .serverOnly))
        #expect(server.url == "tls://127.0.0.1:\(server.port)")
        for file in [server.caFile, server.serverCertFile, server.clientCertFile, server.clientKeyFile] {
            #expect(FileManager.default.fileExists(atPath: try #require(file)))
        }
        let info = try LoopbackConnection(port: server.port).readInfo()
        #expect(info["tls_required"]?.bool == true)
        #expect(info["tls_verify"]?.bool != true)
        let varz = try await server.varz()
        #expect(varz["tls_required"]?.bool == true)
        #expect(varz["tls_verify"]?.bool != true)

        // A real TLS client that trusts only the generated CA gets through, by IP and by name.
        #expect(try await tlsHandshake(server, host: "127.0.0.1", clientCertificate: false) == "PONG")
        #expect(try await tlsHandshake(server, host: "localhost", clientCertificate: false) == "PONG")
    }

    @Test func tlsMutual() async throws {
        let server = try await NATSServer.start(.init(tls: .mutual))
        let info = try LoopbackConnection(port: server.port).readInfo()
        #expect(info["tls_required"]?.bool == true)
        #expect(info["tls_verify"]?.bool == true)
        #expect(try await server.varz()["tls_verify"]?.bool == true)

        #expect(try await tlsHandshake(server, host: "127.0.0.1", clientCertificate: true) == "PONG")
        let refused = try await tlsHandshake(server, host: "127.0.0.1", clientCertificate: false)
        #expect(refused != "PONG")
    }

    @Test func usersWithPasswordsAndPermissions() async throws {
        let tricky = #"pa"ss\word $x"#
        let server = try await NATSServer.start(
            .init(users: [
                .init(user: "admin", password: tricky),
                .init(
                    user: "reader",
                    password: "r",
                    permissions: Permissions(
                        publishAllow: ["xy.>"],
                        publishDeny: ["xy.secret.>"],
                        subscribeAllow: ["xy.md.>"],
                        allowResponses: true
                    )
                ),
            ])
        )
        let info = try LoopbackConnection(port: server.port).readInfo()
        #expect(info["auth_required"]?.bool == true)
        #expect(try await server.varz()["auth_required"]?.bool == true)

        let admin = try LoopbackConnection(port: server.port)
        _ = try admin.readInfo()
        #expect(try admin.connect(connectJSON(["user": "admin", "pass": tricky])) == "PONG")

        let wrong = try LoopbackConnection(port: server.port)
        _ = try wrong.readInfo()
        #expect(try wrong.connect(connectJSON(["user": "admin", "pass": "nope"])) == "-ERR 'Authorization Violation'")

        let reader = try LoopbackConnection(port: server.port)
        _ = try reader.readInfo()
        #expect(try reader.connect(connectJSON(["user": "reader", "pass": "r"])) == "PONG")
        #expect(try reader.publish("xy.md.event.AAPL", "ok") == "PONG")
        #expect(try reader.publish("xy.secret.key", "no") == #"-ERR 'Permissions Violation for Publish to "xy.secret.key"'"#)
        #expect(try reader.publish("other", "no") == #"-ERR 'Permissions Violation for Publish to "other"'"#)
        #expect(try reader.subscribe("xy.md.tick.demo", sid: 1) == "PONG")
        #expect(
            try reader.subscribe("xy.exec.health", sid: 2)
                == #"-ERR 'Permissions Violation for Subscription to "xy.exec.health"'"#
        )
    }

    @Test func token() async throws {
        let server = try await NATSServer.start(.init(token: "s3cret"))
        #expect(try await server.varz()["auth_required"]?.bool == true)
        let good = try LoopbackConnection(port: server.port)
        #expect(try good.readInfo()["auth_required"]?.bool == true)
        #expect(try good.connect(connectJSON(["auth_token": "s3cret"])) == "PONG")
        let bad = try LoopbackConnection(port: server.port)
        _ = try bad.readInfo()
        #expect(try bad.connect(connectJSON(["auth_token": "guess"])) == "-ERR 'Authorization Violation'")
    }

    @Test func nkeyUsers() async throws {
        let allowed = NKeyPair.generate(.user)
        let limited = NKeyPair.generate(.user)
        let server = try await NATSServer.start(
            .init(nkeyUsers: [
                .init(publicKey: allowed.publicKey),
                .init(publicKey: limited.publicKey, permissions: Permissions(publishDeny: [">"])),
            ])
        )
        #expect(try await server.varz()["auth_required"]?.bool == true)

        let connection = try LoopbackConnection(port: server.port)
        let nonce = try #require(connection.readInfo()["nonce"]?.string)
        let signature = Base64URL.encode(try allowed.sign(Array(nonce.utf8)))
        #expect(try connection.connect(connectJSON(["nkey": allowed.publicKey, "sig": signature])) == "PONG")
        #expect(try connection.publish("anything", "x") == "PONG")

        let second = try LoopbackConnection(port: server.port)
        let secondNonce = try #require(second.readInfo()["nonce"]?.string)
        let limitedSignature = Base64URL.encode(try limited.sign(Array(secondNonce.utf8)))
        #expect(try second.connect(connectJSON(["nkey": limited.publicKey, "sig": limitedSignature])) == "PONG")
        #expect(try second.publish("anything", "x") == #"-ERR 'Permissions Violation for Publish to "anything"'"#)

        let stranger = NKeyPair.generate(.user)
        let third = try LoopbackConnection(port: server.port)
        let thirdNonce = try #require(third.readInfo()["nonce"]?.string)
        let strangerSignature = Base64URL.encode(try stranger.sign(Array(thirdNonce.utf8)))
        #expect(
            try third.connect(connectJSON(["nkey": stranger.publicKey, "sig": strangerSignature]))
                == "-ERR 'Authorization Violation'"
        )
    }

    @Test func operatorMode() async throws {
        let server = try await NATSServer.start(.init(jetStream: true, operatorMode: true))
        let credsFile = try #require(server.userCredsFile)
        #expect(try await server.varz()["auth_required"]?.bool == true)

        let admin = try LoopbackConnection(port: server.port)
        #expect(try admin.connect(signedConnect(admin, credsFile: credsFile)) == "PONG")
        #expect(try admin.publish("anything.at.all", "x") == "PONG")
        // The account has JetStream.
        let accountInfo = try admin.jetStreamRequest("INFO", "")
        #expect(accountInfo["error"] == nil, "\(accountInfo)")
        #expect(accountInfo["type"]?.string == "io.nats.jetstream.api.v1.account_info_response")

        let limitedCreds = try server.makeCredsFile(
            publishAllow: ["xy.>"], subscribeAllow: ["xy.md.>"], allowResponses: true
        )
        #expect(limitedCreds != credsFile)
        let limited = try LoopbackConnection(port: server.port)
        #expect(try limited.connect(signedConnect(limited, credsFile: limitedCreds)) == "PONG")
        #expect(try limited.publish("xy.md.event.AAPL", "ok") == "PONG")
        #expect(try limited.publish("other", "no") == #"-ERR 'Permissions Violation for Publish to "other"'"#)
        #expect(try limited.subscribe("xy.md.tick.demo", sid: 1) == "PONG")
        #expect(
            try limited.subscribe("xy.exec.health", sid: 2)
                == #"-ERR 'Permissions Violation for Subscription to "xy.exec.health"'"#
        )

        // A user signed by an account the server does not trust is refused.
        let stranger = NKeyPair.generate(.user)
        let strangerJWT = try NATSJWT.userJWT(
            name: "stranger", user: stranger.publicKey, signedBy: NKeyPair.generate(.account)
        )
        let strangerCreds = server.directory + "/stranger.creds"
        try NATSCredentials.format(jwt: strangerJWT, seed: try #require(stranger.seed))
            .write(toFile: strangerCreds, atomically: true, encoding: .utf8)
        let refused = try LoopbackConnection(port: server.port)
        #expect(try refused.connect(signedConnect(refused, credsFile: strangerCreds)) == "-ERR 'Authorization Violation'")
    }

    @Test func makeCredsFileNeedsOperatorMode() async throws {
        let server = try await NATSServer.start()
        #expect(server.userCredsFile == nil)
        let error = #expect(throws: NATSServerError.self) { _ = try server.makeCredsFile(publishAllow: ["x"]) }
        #expect(error?.code == .notConfigured)
    }

    @Test func jetStream() async throws {
        let server = try await NATSServer.start(.init(jetStream: true))
        let info = try LoopbackConnection(port: server.port).readInfo()
        #expect(info["jetstream"]?.bool == true)
        let varz = try await server.varz()
        let storeDirectory = try #require(varz["jetstream"]?["config"]?["store_dir"]?.string)
        #expect(storeDirectory.hasPrefix(server.directory))
        let jsz = try await server.jsz()
        #expect(jsz["disabled"]?.bool != true)
        #expect(jsz["config"]?["store_dir"]?.string == storeDirectory)
    }

    @Test func websocketListener() async throws {
        let server = try await NATSServer.start(.init(websocketPort: true))
        let websocketPort = try #require(server.websocketPort)
        #expect(server.websocketURL == "ws://127.0.0.1:\(websocketPort)")
        #expect(try await server.varz()["websocket"]?["port"]?.int == websocketPort)

        let connection = try LoopbackConnection(port: websocketPort)
        try connection.send(
            "GET / HTTP/1.1\r\nHost: 127.0.0.1:\(websocketPort)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        #expect(try connection.readLine() == "HTTP/1.1 101 Switching Protocols")
    }

    @Test func limitsAndPings() async throws {
        let server = try await NATSServer.start(
            .init(maxPayload: 4096, pingInterval: "100ms", maxPingsOut: 2)
        )
        let varz = try await server.varz()
        #expect(varz["max_payload"]?.int == 4096)
        #expect(varz["ping_max"]?.int == 2)
        #expect(varz["ping_interval"]?.int == 100_000_000)

        let connection = try LoopbackConnection(port: server.port)
        #expect(try connection.readInfo()["max_payload"]?.int == 4096)
        #expect(try connection.connect() == "PONG")
        // Never answering the server's PINGs gets the connection closed as stale.
        #expect(try connection.readLine { $0.hasPrefix("-ERR") } == "-ERR 'Stale Connection'")
    }

    @Test func extraConfigIsAppended() async throws {
        let server = try await NATSServer.start(.init(extra: "max_connections: 7\nserver_name: harness_extra"))
        let varz = try await server.varz()
        #expect(varz["max_connections"]?.int == 7)
        #expect(varz["server_name"]?.string == "harness_extra")
    }

    @Test func renderedConfigQuotesStringsAndOmitsEmptySections() {
        #expect(quoted(#"a"b\c"#) == #""a\"b\\c""#)
        let permissions = Permissions(publishAllow: ["xy.>"], subscribeDeny: ["$JS.>"], allowResponses: true)
        #expect(
            permissions.rendered
                == #"permissions: { publish: { allow: ["xy.>"] }, subscribe: { deny: ["$JS.>"] }, allow_responses: true }"#
        )
        let text = NATSServerConfiguration().render(directory: "/d", ports: .pickFree, material: .init())
        #expect(text.contains(#"listen: "127.0.0.1:-1""#))
        #expect(!text.contains("authorization"))
        #expect(!text.contains("jetstream"))
    }

    // MARK: Helpers

    /// Reads INFO and returns the CONNECT JSON of the user in `credsFile`, signing the nonce.
    private func signedConnect(_ connection: LoopbackConnection, credsFile: String) throws -> String {
        let credentials = try NATSCredentials(contentsOfFile: credsFile)
        let nonce = try #require(connection.readInfo()["nonce"]?.string)
        let signature = Base64URL.encode(try credentials.keyPair.sign(Array(nonce.utf8)))
        return try connectJSON(["jwt": credentials.jwt, "sig": signature])
    }

    private func connectJSON(_ fields: [String: String]) throws -> String {
        var object: [String: Any] = ["verbose": false, "pedantic": false]
        for (key, value) in fields { object[key] = value }
        let data = try JSONSerialization.data(withJSONObject: object)
        return String(decoding: data, as: UTF8.self)
    }

    /// Does the NATS TLS upgrade with Python's `ssl` (an independent TLS stack that checks the
    /// chain against the generated CA and the host name) and returns `PONG` or the failure.
    private func tlsHandshake(_ server: NATSServer, host: String, clientCertificate: Bool) async throws -> String {
        let script = """
            import socket, ssl, sys
            port, ca, host, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
            try:
                raw = socket.create_connection(("127.0.0.1", port), timeout=5)
                line = b""
                while not line.endswith(b"\\n"):
                    line += raw.recv(1)
                context = ssl.create_default_context(cafile=ca)
                if cert:
                    context.load_cert_chain(cert, key)
                tls = context.wrap_socket(raw, server_hostname=host)
                tls.sendall(b'CONNECT {"verbose":false}\\r\\nPING\\r\\n')
                answer = b""
                while not answer.endswith(b"\\r\\n"):
                    chunk = tls.recv(1)
                    if not chunk:
                        break
                    answer += chunk
                print(answer.decode().strip() or "closed")
            except Exception as error:
                print(f"{type(error).__name__}: {error}")
            """
        let scriptFile = server.directory + "/tls_probe.py"
        let outputFile = server.directory + "/tls_probe-\(UUID().uuidString).out"
        try script.write(toFile: scriptFile, atomically: true, encoding: .utf8)
        let python = try #require(
            ProcessInfo.processInfo.environment["XY_PYTHON"].flatMap { $0.isEmpty ? nil : $0 }
                ?? ChildProcess.locate("python3", extraDirectories: ["/usr/bin"]),
            "python3 is needed for the TLS handshake check"
        )
        let certificate = clientCertificate ? try #require(server.clientCertFile) : ""
        let key = clientCertificate ? try #require(server.clientKeyFile) : ""
        try await ChildProcess.run(
            executable: python,
            arguments: [scriptFile, String(server.port), try #require(server.caFile), host, certificate, key],
            outputPath: outputFile
        )
        return try String(contentsOfFile: outputFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

import Foundation
import NATS
import NATSTestSupport
import NIOCore
import NKeys
import Testing

/// Round trip through the server: proves the connection is authenticated and usable.
private func roundTrip(_ client: NATSClient) async throws {
    let subscription = try client.subscribe("auth.check")
    try await client.flush()
    try client.publish("auth.check", "ok")
    let messages = try await collect(subscription, count: 1)
    #expect(messages.first?.string == "ok")
}

@Suite("Authentication and TLS")
struct NATSAuthenticationTests {
    @Test("user and password: right ones connect, wrong ones fail with authorizationViolation")
    func userPassword() async throws {
        let server = try await NATSServer.start(.init(users: [.init(user: "alice", password: "s3cret")]))
        let client = try await connect(server) { $0.authentication = .userPassword(user: "alice", password: "s3cret") }
        try await roundTrip(client)
        await client.close()
        await expectNATSError(.authorizationViolation) {
            try await connect(server) { $0.authentication = .userPassword(user: "alice", password: "wrong") }
        }
        await expectNATSError(.authorizationViolation) { try await connect(server) }
        // Credentials in the URL work too.
        let viaURL = try await NATSClient.connect(NATSClientOptions(url: "nats://alice:s3cret@127.0.0.1:\(server.port)"))
        try await roundTrip(viaURL)
        await viaURL.close()
        await server.stop()
    }

    @Test("token")
    func token() async throws {
        let server = try await NATSServer.start(.init(token: "t0ken"))
        let client = try await connect(server) { $0.authentication = .token("t0ken") }
        try await roundTrip(client)
        await client.close()
        await expectNATSError(.authorizationViolation) { try await connect(server) { $0.authentication = .token("nope") } }
        await server.stop()
    }

    @Test("NKey: the client signs the server's nonce with the seed, from memory or a seed file")
    func nkey() async throws {
        let user = NKeyPair.generate(.user)
        let server = try await NATSServer.start(.init(nkeyUsers: [.init(publicKey: user.publicKey)]))
        let client = try await connect(server) { $0.authentication = .nkeySeed(user.seed!) }
        try await roundTrip(client)
        await client.close()
        let seedFile = server.directory + "/user.nk"
        try "# a comment line\n\(user.seed!)\n".write(toFile: seedFile, atomically: true, encoding: .utf8)
        let fromFile = try await connect(server) { $0.authentication = .nkeySeedFile(seedFile) }
        try await roundTrip(fromFile)
        await fromFile.close()
        let stranger = NKeyPair.generate(.user)
        await expectNATSError(.authorizationViolation) { try await connect(server) { $0.authentication = .nkeySeed(stranger.seed!) } }
        await expectNATSError(.invalidConfiguration) { try await connect(server) { $0.authentication = .nkeySeed("SUNOTASEED") } }
        await server.stop()
    }

    @Test("operator mode: a creds file (user JWT + seed) authenticates")
    func credentials() async throws {
        let server = try await NATSServer.start(.init(operatorMode: true))
        let creds = try #require(server.userCredsFile)
        let client = try await connect(server) { $0.authentication = .credentialsFile(creds) }
        try await roundTrip(client)
        await client.close()
        await expectNATSError(.invalidConfiguration) { try await connect(server) { $0.authentication = .credentialsFile("/nonexistent.creds") } }
        await server.stop()
    }

    @Test("TLS: the client upgrades after INFO and verifies the server against the CA")
    func tls() async throws {
        let server = try await NATSServer.start(.init(tls: .serverOnly))
        let client = try await connect(server) { $0.tls = NATSTLSOptions(caFile: server.caFile) }
        try await roundTrip(client)
        await client.close()
        // Without our CA the server's certificate is not trusted.
        await expectNATSError(.tlsError) { try await connect(server) { $0.tls = nil } }
        await server.stop()
    }

    @Test("mutual TLS: a client certificate is presented when the server verifies clients")
    func mutualTLS() async throws {
        let server = try await NATSServer.start(.init(tls: .mutual))
        let client = try await connect(server) {
            $0.tls = NATSTLSOptions(caFile: server.caFile, certificateFile: server.clientCertFile, keyFile: server.clientKeyFile)
        }
        try await roundTrip(client)
        await client.close()
        do {
            _ = try await connect(server) { $0.tls = NATSTLSOptions(caFile: server.caFile) }
            Issue.record("a client without a certificate must be refused")
        } catch {
            // Refused during or right after the handshake; either is a clear failure.
        }
        await server.stop()
    }
}

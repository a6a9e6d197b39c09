import Foundation
import NKeys
import Testing

@testable import NATSTestSupport

/// The nats-py peer works against harness servers, with each kind of credential the harness
/// generates (so other test targets can rely on both).
@Suite struct InteropPeerTests {
    @Test func publishAndSubscribeWithHeaders() async throws {
        let server = try await NATSServer.start()
        let subscriber = try PythonPeer.start(
            ["subscribe", "--server", server.url, "--subject", "interop.>", "--count", "2"],
            in: server.directory
        )
        try await subscriber.waitUntilReady()
        let published = try await PythonPeer.run(
            ["publish", "--server", server.url, "--subject", "interop.a", "--count", "2", "--payload", "héllo",
             "--header", "Xy-Schema:xy.md.v1.TickBatch"],
            in: server.directory
        )
        #expect(published.status == 0, "\(published.output)")
        let (status, output) = try await subscriber.finish()
        #expect(status == 0, "\(output)")
        let messages = try output.split(separator: "\n").filter { $0.hasPrefix("{") }
            .map { try MonitoringJSON.parse(Array($0.utf8)) }
        #expect(messages.count == 2, "\(output)")
        #expect(messages.first?["subject"]?.string == "interop.a")
        #expect(messages.first?["data"]?.string == "héllo")
        #expect(messages.first?["reply"]?.string == "")
        #expect(messages.first?["headers"]?["Xy-Schema"]?.string == "xy.md.v1.TickBatch")
    }

    @Test func requestReplyOverMutualTLS() async throws {
        let server = try await NATSServer.start(.init(tls: .mutual))
        let tls = [
            "--tls-ca", try #require(server.caFile),
            "--tls-cert", try #require(server.clientCertFile),
            "--tls-key", try #require(server.clientKeyFile),
        ]
        let replier = try PythonPeer.start(
            ["reply", "--server", server.url, "--subject", "svc.echo", "--count", "1", "--payload", "pong"] + tls,
            in: server.directory
        )
        try await replier.waitUntilReady()
        let answer = try await PythonPeer.run(
            ["request", "--server", server.url, "--subject", "svc.echo", "--payload", "ping"] + tls,
            in: server.directory
        )
        #expect(answer.status == 0, "\(answer.output)")
        #expect(answer.output == "pong\n")
        #expect(try await replier.finish().status == 0)

        // Without the client certificate the server refuses the peer: one error line, non-zero exit.
        let refused = try await PythonPeer.run(
            ["request", "--server", server.url, "--subject", "svc.echo", "--tls-ca", try #require(server.caFile)],
            in: server.directory
        )
        #expect(refused.status == 1)
        #expect(refused.output.hasPrefix("error: "), "\(refused.output)")
        #expect(refused.output.split(separator: "\n").count == 1, "\(refused.output)")
    }

    @Test func operatorCredsWithCustomInboxPrefix() async throws {
        let server = try await NATSServer.start(.init(operatorMode: true))
        let service = try server.makeCredsFile(subscribeAllow: ["xy.svc.>"], allowResponses: true)
        let client = try server.makeCredsFile(publishAllow: ["xy.svc.>"], subscribeAllow: ["xy.inbox.>"])
        let replier = try PythonPeer.start(
            ["reply", "--server", server.url, "--creds", service, "--subject", "xy.svc.time", "--count", "1",
             "--payload", "now"],
            in: server.directory
        )
        try await replier.waitUntilReady()
        // Replies to the default _INBOX would be denied; the xy.inbox prefix is allowed.
        let answer = try await PythonPeer.run(
            ["request", "--server", server.url, "--creds", client, "--subject", "xy.svc.time",
             "--inbox-prefix", "xy.inbox"],
            in: server.directory
        )
        #expect(answer.status == 0, "\(answer.output)")
        #expect(answer.output == "now\n")
        #expect(try await replier.finish().status == 0)

        let denied = try await PythonPeer.run(
            ["publish", "--server", server.url, "--creds", client, "--subject", "elsewhere"],
            in: server.directory
        )
        #expect(denied.status == 1)
        #expect(denied.output.lowercased().contains("permissions violation"), "\(denied.output)")
    }

    @Test func nkeySeedFileUserPasswordAndToken() async throws {
        let user = NKeyPair.generate(.user)
        let nkeyServer = try await NATSServer.start(.init(nkeyUsers: [.init(publicKey: user.publicKey)]))
        let seedFile = nkeyServer.directory + "/user.nk"
        try #require(user.seed).write(toFile: seedFile, atomically: true, encoding: .utf8)
        let viaNKey = try await PythonPeer.run(
            ["publish", "--server", nkeyServer.url, "--nkey-seed-file", seedFile, "--subject", "x"],
            in: nkeyServer.directory
        )
        #expect(viaNKey.status == 0, "\(viaNKey.output)")

        let passwordServer = try await NATSServer.start(.init(users: [.init(user: "u", password: "p")]))
        let viaPassword = try await PythonPeer.run(
            ["publish", "--server", passwordServer.url, "--user", "u", "--password", "p", "--subject", "x"],
            in: passwordServer.directory
        )
        #expect(viaPassword.status == 0, "\(viaPassword.output)")
        let badPassword = try await PythonPeer.run(
            ["publish", "--server", passwordServer.url, "--user", "u", "--password", "no", "--subject", "x"],
            in: passwordServer.directory
        )
        #expect(badPassword.status == 1)
        #expect(badPassword.output.contains("Authorization Violation"), "\(badPassword.output)")

        let tokenServer = try await NATSServer.start(.init(token: "t0k"))
        let viaToken = try await PythonPeer.run(
            ["publish", "--server", tokenServer.url, "--token", "t0k", "--subject", "x"],
            in: tokenServer.directory
        )
        #expect(viaToken.status == 0, "\(viaToken.output)")
    }
}

import Foundation
import NATS
import NATSTestSupport
import NIOCore
import SwiftProtobuf
import Testing
import XYContracts

/// `xy pub` reports the server's refusal; `xy req` prints replies a person can read.
@Suite("xy pub refusals and xy req replies")
struct PubReqCLITests {
    @Test("xy pub exits non-zero with the server's words when a publish is refused; allowed subjects still exit 0")
    func pubRefused() async throws {
        let limited = Permissions(publishAllow: ["ok.>"], subscribeAllow: ["_INBOX.>"])
        let server = try await NATSServer.start(.init(users: [.init(user: "limited", password: "pw", permissions: limited)]))
        let credentials = ["-s", server.url, "--user", "limited", "--password", "pw"]

        let refused = try await XYCommand.run(["pub", "nope.tick", "forged", "--count", "3"] + credentials)
        #expect(refused.status == 1, "\(refused.stderr)")
        #expect(refused.stderr.contains("the server refused the publish to 'nope.tick'"), "\(refused.stderr)")
        #expect(refused.stderr.contains("Permissions Violation for Publish to \"nope.tick\""), "\(refused.stderr)")

        let allowed = try await XYCommand.run(["pub", "ok.tick", "fine", "--count", "3"] + credentials)
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(allowed.stderr.isEmpty)
        await server.stop()
    }

    @Test("the library call: publishConfirmed throws permissionsViolation, the connection stays up")
    func publishConfirmed() async throws {
        let limited = Permissions(publishAllow: ["ok.>"], subscribeAllow: ["ok.>", "_INBOX.>"])
        let server = try await NATSServer.start(.init(users: [.init(user: "limited", password: "pw", permissions: limited)]))
        var options = try NATSClientOptions(url: server.url)
        options.authentication = .userPassword(user: "limited", password: "pw")
        let client = try await NATSClient.connect(options)
        let subscription = try client.subscribe("ok.>")
        try await client.flush()

        await #expect {
            try await client.publishConfirmed("denied.x", payload: ByteBuffer(string: "x"), count: 2)
        } throws: { error in
            (error as? NATSError)?.code == .permissionsViolation
        }
        try await client.publishConfirmed("ok.x", payload: ByteBuffer(string: "after"))
        #expect(client.isConnected)
        for try await message in subscription {
            #expect(message.subject == "ok.x" && message.string == "after")
            break
        }
        await client.close()
        await server.stop()
    }

    /// A responder on `subject` that answers every request with `payload` and `headers`.
    static func respond(_ client: NATSClient, _ subject: String, _ payload: [UInt8], headers: NATSHeaders? = nil) throws -> NATSSubscription {
        try client.subscribe(subject) { message in
            guard let reply = message.replyTo else { return }
            try? client.publish(reply, payload: ByteBuffer(bytes: payload), headers: headers)
        }
    }

    @Test("xy req decodes a known Xy-Schema to JSON, prints text as text, other bytes as base64, and --raw unchanged")
    func reqFormats() async throws {
        let server = try await NATSServer.start()
        let client = try await NATSClient.connect(url: server.url)
        var snapshot = Xy_Md_V1_Snapshot()
        snapshot.group = "demo"
        snapshot.seq = 42
        var tick = Xy_Md_V1_SymbolTick()
        tick.symbol = "AAPL"
        tick.last = 187.5
        snapshot.ticks = [tick]
        let binary: [UInt8] = [0x00, 0x01, 0x41, 0x0A]
        let responders = [
            try Self.respond(client, "svc.snapshot", try snapshot.serializedBytes(), headers: [Subjects.schemaHeader: "xy.md.v1.Snapshot"]),
            try Self.respond(client, "svc.text", Array("héllo\twörld".utf8)),
            try Self.respond(client, "svc.binary", binary),
            try Self.respond(client, "svc.unknown", binary, headers: [Subjects.schemaHeader: "xy.nope.v1.Thing"]),
        ]
        try await client.flush()

        let json = try await XYCommand.run(["req", "svc.snapshot", "", "-s", server.url])
        #expect(json.status == 0, "\(json.stderr)")
        let decoded = try Xy_Md_V1_Snapshot(jsonString: json.stdout.trimmingCharacters(in: .newlines))
        #expect(decoded == snapshot)
        #expect(json.stdout.contains("\"group\":\"demo\"") && json.stdout.contains("\"symbol\":\"AAPL\""), "\(json.stdout)")

        let text = try await XYCommand.run(["req", "svc.text", "", "-s", server.url])
        #expect(text.status == 0 && text.stdout == "héllo\twörld\n" && text.stderr.isEmpty, "\(text)")

        let bytes = try await XYCommand.run(["req", "svc.binary", "", "-s", server.url])
        #expect(bytes.status == 0, "\(bytes.stderr)")
        #expect(bytes.stdout == "base64:AAFBCg==\n")
        #expect(bytes.stderr.contains("4 bytes that are not text"), "\(bytes.stderr)")

        let unknown = try await XYCommand.run(["req", "svc.unknown", "", "-s", server.url])
        #expect(unknown.stdout == "base64:AAFBCg==\n")
        #expect(unknown.stderr.contains("unknown Xy-Schema 'xy.nope.v1.Thing'"), "\(unknown.stderr)")

        let raw = try await XYCommand.run(["req", "svc.binary", "", "--raw", "-s", server.url])
        #expect(raw.status == 0 && raw.stdout == "\u{0}\u{1}A\n" && raw.stderr.isEmpty, "\(raw)")

        for responder in responders { try responder.unsubscribe() }
        await client.close()
        await server.stop()
    }
}

import NIOCore
import NIOEmbedded
import Testing

@testable import NATS

/// `NATSChannelHandler` on an `EmbeddedChannel` through its handshake, no server involved. Each
/// test is synchronous: an `EmbeddedChannel` must stay on the thread that made it.
@Suite("NATS channel handler on EmbeddedChannel")
struct NATSChannelHandlerTests {
    /// A client on the channel's loop whose machine has opened socket `id`, and the channel carrying
    /// that socket's handler, connected.
    struct Harness {
        let channel: EmbeddedChannel
        let client: NATSClient
        let id: Int
        /// What the first connection ended with, once it did.
        let outcome: LockedBox<Result<Void, any Error>?>

        init(servers: Int = 1, configure: (inout NATSClientOptions) -> Void = { _ in }) throws {
            channel = EmbeddedChannel()
            var options = NATSClientOptions()
            configure(&options)
            client = NATSClient(options: options, eventLoop: channel.embeddedEventLoop)
            guard case .openSocket(let id) = client.machine.start(servers: servers) else {
                throw NATSError(.invalidConfiguration, "the machine opened no socket")
            }
            self.id = id
            let outcome = LockedBox<Result<Void, any Error>?>(nil)
            let promise = channel.embeddedEventLoop.makePromise(of: Void.self)
            promise.futureResult.whenComplete { outcome.value = $0 }
            client.initialConnect = promise
            self.outcome = outcome
            let address = NATSServerAddress(host: "127.0.0.1")
            try channel.pipeline.syncOperations.addHandler(NATSChannelHandler(client: client, address: address, id: id))
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 4222)).wait()
        }

        /// Closes the client and the channel, leaving no scheduled task on the loop.
        func end() {
            client.closeNow(error: nil)
            _ = try? channel.finish(acceptAlreadyClosed: true)
        }

        func send(_ text: String) throws {
            try channel.writeInbound(ByteBuffer(string: text))
            channel.embeddedEventLoop.run()
        }

        /// Everything the handler wrote so far, as text.
        func written() throws -> String {
            var out = ""
            while let part = try channel.readOutbound(as: ByteBuffer.self) { out += String(buffer: part) }
            return out
        }

        /// Everything the handler wrote so far, as bytes.
        func writtenBytes() throws -> [UInt8] {
            var out: [UInt8] = []
            while let part = try channel.readOutbound(as: ByteBuffer.self) { out += Array(part.readableBytesView) }
            return out
        }
    }

    static let info = #"INFO {"server_id":"S1","max_payload":1048576,"proto":1,"headers":true}"# + "\r\n"

    @Test("INFO → CONNECT and PING; PONG → connected, and a MSG then reaches its subscription")
    func handshake() throws {
        let harness = try Harness { $0.name = "embedded" }
        defer { harness.end() }
        #expect(try harness.written().isEmpty)
        try harness.send(Self.info)
        let written = try harness.written()
        #expect(written.hasPrefix("CONNECT {"))
        #expect(written.contains("\"name\":\"embedded\""))
        #expect(written.hasSuffix("\r\nPING\r\n"))
        #expect(!harness.client.isConnected)
        try harness.send("PONG\r\n")
        #expect(harness.client.isConnected)
        #expect(harness.client.machine.state == .connected(id: harness.id, lameDuck: false))
        #expect(harness.outcome.value.map { (try? $0.get()) != nil } == true)

        let subscription = try harness.client.subscribe("a.b")
        harness.channel.embeddedEventLoop.run()
        #expect(try harness.written() == "SUB a.b 1\r\n")
        try harness.send("MSG a.b 1 5\r\nhello\r\n")
        #expect(subscription.pendingMessages == 1)
        #expect(harness.channel.isActive)
    }

    @Test("-ERR 'Authorization Violation' during the handshake closes the socket and fails the connect with authorizationViolation")
    func authorizationViolation() throws {
        let harness = try Harness(servers: 3)
        defer { harness.end() }
        try harness.send(Self.info)
        _ = try harness.written()
        try harness.send("-ERR 'Authorization Violation'\r\n")
        #expect(!harness.channel.isActive)
        #expect(harness.client.machine.state == .closed)
        guard case .failure(let error as NATSError)? = harness.outcome.value else {
            Issue.record("the connect did not fail with a NATSError: \(String(describing: harness.outcome.value))")
            return
        }
        #expect(error.code == .authorizationViolation)
        #expect(!harness.client.isConnected)
    }

    @Test("a PING during the handshake is answered with PONG before the handshake completes")
    func pingDuringHandshake() throws {
        let harness = try Harness()
        defer { harness.end() }
        try harness.send(Self.info)
        _ = try harness.written()
        try harness.send("PING\r\n")
        #expect(try harness.written() == "PONG\r\n")
        #expect(!harness.client.isConnected)
        try harness.send("PONG\r\n")
        #expect(harness.client.isConnected)
    }

    @Test("a server that requires TLS gets a TLS ClientHello, not a plain CONNECT")
    func tlsRequiredByServer() throws {
        let harness = try Harness()
        defer { harness.end() }
        try harness.send(#"INFO {"server_id":"S1","max_payload":1048576,"tls_required":true}"# + "\r\n")
        let bytes = try harness.writtenBytes()
        // A TLS record of type handshake (22), version 3.x: the ClientHello of the upgrade.
        #expect(bytes.count > 5)
        #expect(bytes.first == 22)
        #expect(bytes.dropFirst().first == 3)
        #expect(!String(decoding: bytes, as: UTF8.self).contains("CONNECT"))
        guard case .connecting(let attempt) = harness.client.machine.state, case .upgradingTLS = attempt.handshake else {
            Issue.record("the machine is not upgrading to TLS: \(harness.client.machine.state)")
            return
        }
        // Plain text from the server now breaks the handshake.
        try harness.send("PING\r\n")
        #expect(!harness.channel.isActive)
    }

    @Test("options that require TLS upgrade even when the server's INFO does not ask")
    func tlsRequiredByOptions() throws {
        let harness = try Harness { $0.tls = NATSTLSOptions(required: true) }
        defer { harness.end() }
        try harness.send(Self.info)
        let bytes = try harness.writtenBytes()
        #expect(bytes.first == 22)
        #expect(!String(decoding: bytes, as: UTF8.self).contains("CONNECT"))
    }

    @Test("a CONNECT the client cannot build (unreadable seed file) fails the connect with that error, not the socket's close")
    func unreadableSeedFile() throws {
        let harness = try Harness { $0.authentication = .nkeySeedFile("/nonexistent/xy-test.nk") }
        defer { harness.end() }
        try harness.send(Self.info)
        #expect(!harness.channel.isActive)
        guard case .failure(let error as NATSError)? = harness.outcome.value else {
            Issue.record("the connect did not fail")
            return
        }
        #expect(error.code == .invalidConfiguration)
    }

    @Test("anything before INFO is a protocol error: the socket closes and the connect fails")
    func notInfoFirst() throws {
        let harness = try Harness()
        defer { harness.end() }
        try harness.send("PONG\r\n")
        #expect(!harness.channel.isActive)
        guard case .failure(let error as NATSError)? = harness.outcome.value else {
            Issue.record("the connect did not fail")
            return
        }
        #expect(error.message.contains("expected INFO first"))
    }

    @Test("the server closing mid-handshake fails the only server's connect; a live connection's loss schedules a reconnect")
    func closeMidHandshake() throws {
        let harness = try Harness()
        defer { harness.end() }
        try harness.send(Self.info)
        try harness.channel.close().wait()
        #expect(harness.client.machine.state == .closed)
        guard case .failure(let error as NATSError)? = harness.outcome.value else {
            Issue.record("the connect did not fail")
            return
        }
        #expect(error.code == .connectFailed)

        let live = try Harness()
        defer { live.end() }
        try live.send(Self.info)
        try live.send("PONG\r\n")
        try live.channel.close().wait()
        #expect(live.client.machine.state == .waitingToReconnect(attempt: 1))
        #expect(!live.client.isConnected)
        // Closing while waiting to reconnect ends the client; nothing is reopened.
        live.client.closeNow(error: nil)
        live.channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        #expect(live.client.machine.state == .closed)
    }

    @Test("INFO with lame duck mode on a live connection marks the server to be tried last")
    func lameDuck() throws {
        let harness = try Harness()
        defer { harness.end() }
        try harness.send(Self.info)
        try harness.send("PONG\r\n")
        #expect(harness.client.pool.entries.first?.lameDuck == false)
        try harness.send(#"INFO {"server_id":"S1","max_payload":1048576,"ldm":true}"# + "\r\n")
        #expect(harness.client.machine.state == .connected(id: harness.id, lameDuck: true))
        #expect(harness.client.pool.entries.first?.lameDuck == true)
        #expect(harness.channel.isActive)
    }
}

/// A value shared with callbacks that run on the embedded loop (the same thread).
final class LockedBox<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}

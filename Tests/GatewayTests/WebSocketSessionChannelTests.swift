import Foundation
@testable import Gateway
import GatewayAuth
import Logging
import NATS
import NATSTestSupport
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing
import XYContracts

/// `WebSocketSession` (behind `WebSocketFrameValidator`, as the upgrade installs them) on NIO's
/// `EmbeddedChannel`: frames in, bytes out, time advanced by hand, so handler bugs show without
/// sockets. The hub under it talks to a real nats-server.
@Suite("WebSocketSession on EmbeddedChannel")
struct WebSocketSessionChannelTests {
    /// A session on an embedded channel and what it needs.
    ///
    /// `EmbeddedEventLoop` is not thread-safe and checks that it is used from the thread that made
    /// it; an async test hops threads at every `await`. So a fixture is made and used inside one
    /// synchronous stretch (``withFixture``), and only the nats-server under it is async.
    final class Fixture {
        let loop = EmbeddedEventLoop()
        let channel: EmbeddedChannel
        let hub: FanoutHub
        let configuration: GatewayConfiguration

        init(nats: NATSClient, configuration: GatewayConfiguration, expiresIn: TimeInterval) throws {
            self.configuration = configuration
            hub = FanoutHub(
                nats: nats, loops: [loop], encoder: MessageEncoder(source: "test"), metrics: GatewayMetrics(),
                snapshotTimeout: .milliseconds(200), logger: Logger(label: "test"))
            channel = EmbeddedChannel(loop: loop)
            let claims = GatewayClaims(
                subject: "alice", grants: nil, maxSubscriptions: nil, roles: [], issuer: nil, audience: [],
                expiresAt: Date(timeIntervalSinceNow: expiresIn), notBefore: nil, keyID: nil, algorithm: "ES256")
            let upgrade = AuthenticatedUpgrade(
                claims: claims, source: .header, applicationSubprotocol: "xy.v1.json", responseSubprotocol: "xy.v1.json",
                grants: claims.subjectGrants())
            let session = WebSocketSession(
                hub: hub, shard: hub.shard(for: loop)!, settings: WebSocketSession.Settings(configuration), upgrade: upgrade,
                sessionEvents: SessionEventPublisher(nats: nil, instance: "test"), sessionID: "s1", remoteAddress: "")
            try channel.pipeline.syncOperations.addHandler(WebSocketFrameValidator())
            try channel.pipeline.syncOperations.addHandler(session)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        }

        /// Sends a client frame (masked unless told otherwise).
        func send(_ opcode: WebSocketOpcode, _ payload: ByteBuffer, masked: Bool = true, rsv1: Bool = false) throws {
            var data = payload
            let key: WebSocketMaskingKey? = masked ? .random() : nil
            if let key { data.webSocketMask(key) }
            try channel.writeInbound(WebSocketFrame(fin: true, rsv1: rsv1, opcode: opcode, maskKey: key, data: data))
        }

        func send(text: String) throws {
            try send(.text, ByteBuffer(string: text))
        }

        /// Every frame written since the last call: (opcode, payload).
        func written() throws -> [(opcode: UInt8, payload: ByteBuffer)] {
            var frames: [(UInt8, ByteBuffer)] = []
            while var bytes = try channel.readOutbound(as: ByteBuffer.self) {
                while bytes.readableBytes > 0 {
                    guard let first = bytes.readInteger(as: UInt8.self), let second = bytes.readInteger(as: UInt8.self) else { break }
                    var length = Int(second & 0x7F)
                    if length == 126 { length = Int(bytes.readInteger(as: UInt16.self) ?? 0) }
                    else if length == 127 { length = Int(bytes.readInteger(as: UInt64.self) ?? 0) }
                    frames.append((first & 0x0F, bytes.readSlice(length: length) ?? ByteBuffer()))
                }
            }
            return frames
        }

        /// The close code of the close frame among `frames`, if any.
        static func closeCode(_ frames: [(opcode: UInt8, payload: ByteBuffer)]) -> UInt16? {
            guard var payload = frames.first(where: { $0.opcode == 0x8 })?.payload else { return nil }
            return payload.readInteger(as: UInt16.self)
        }
    }

    /// Runs `body` on a fresh fixture over a real nats-server; `body` is synchronous so that the
    /// embedded loop stays on the thread that created it.
    private func withFixture(
        _ configuration: GatewayConfiguration = GatewayConfiguration(), expiresIn: TimeInterval = 3600,
        _ body: (Fixture) throws -> Void
    ) async throws {
        let server = try await NATSServer.start(.init())
        let nats: NATSClient
        do {
            nats = try await NATSClient.connect(url: server.url)
        } catch {
            await server.stop()
            throw error
        }
        let outcome = Result {
            let fixture = try Fixture(nats: nats, configuration: configuration, expiresIn: expiresIn)
            defer { _ = try? fixture.channel.finish() }
            try body(fixture)
        }
        await nats.close()
        await server.stop()
        try outcome.get()
    }

    @Test("a ping request is answered with a pong reply; a WebSocket ping with a pong carrying its payload")
    func pings() async throws {
        try await withFixture { fixture in
            try fixture.send(text: #"{"op":"ping","id":"p"}"#)
            let reply = try fixture.written()
            #expect(reply.count == 1)
            #expect(String(buffer: reply[0].payload).contains(#""type":"pong""#))
            try fixture.send(.ping, ByteBuffer(string: "hello"))
            let pong = try fixture.written()
            #expect(pong.map(\.opcode) == [0xA])
            #expect(String(buffer: pong[0].payload) == "hello")
        }
    }

    @Test("RFC 6455: unmasked frames, reserved bits and opcodes close with 1002 and nothing is read after", arguments: ["unmasked", "rsv1", "opcode"])
    func protocolViolations(kind: String) async throws {
        try await withFixture { fixture in
            switch kind {
            case "unmasked": try fixture.send(.text, ByteBuffer(string: #"{"op":"ping"}"#), masked: false)
            case "rsv1": try fixture.send(.text, ByteBuffer(string: #"{"op":"ping"}"#), rsv1: true)
            default: try fixture.send(WebSocketOpcode(encodedWebSocketOpcode: 0x3)!, ByteBuffer(string: "x"))
            }
            let frames = try fixture.written()
            #expect(Fixture.closeCode(frames) == 1002)
            #expect(!frames.contains { $0.opcode == 0x1 })
            #expect(!fixture.channel.isActive)
        }
    }

    @Test("a close frame with an invalid code is a protocol error; a valid one is echoed and the socket closed")
    func closeCodes() async throws {
        try await withFixture { fixture in
            var payload = ByteBuffer()
            payload.writeInteger(UInt16(1005))
            try fixture.send(.connectionClose, payload)
            #expect(Fixture.closeCode(try fixture.written()) == 1002)
            #expect(!fixture.channel.isActive)
        }
        try await withFixture { fixture in
            var payload = ByteBuffer()
            payload.writeInteger(UInt16(3001))
            try fixture.send(.connectionClose, payload)
            #expect(Fixture.closeCode(try fixture.written()) == 3001)
            #expect(!fixture.channel.isActive)
        }
    }

    @Test("replies behind a full socket: reading stops at 64, a flood is closed with 1008, memory stays bounded")
    func controlFlood() async throws {
        try await withFixture { fixture in
            fixture.channel.isWritable = false
            fixture.channel.pipeline.fireChannelWritabilityChanged()
            for _ in 0..<64 { try fixture.send(text: #"{"op":"ping"}"#) }
            #expect(try fixture.written().isEmpty)
            // EmbeddedChannel records options (its getOption always answers true for autoRead).
            #expect(fixture.channel.options.last { $0.option is ChannelOptions.Types.AutoReadOption }?.value as? Bool == false)
            // Frames already read keep coming (one read holds many); the bound closes the flood.
            for _ in 0..<300 where fixture.channel.isActive { try fixture.send(text: #"{"op":"ping"}"#) }
            let frames = try fixture.written()
            #expect(Fixture.closeCode(frames) == 1008)
            #expect(frames.filter { $0.opcode == 0x1 }.isEmpty)
        }
    }

    @Test("the token's exp (plus leeway) ends the session with 4001, which the browser renews on")
    func tokenExpiry() async throws {
        try await withFixture(expiresIn: 5) { fixture in
            try fixture.send(text: #"{"op":"ping"}"#)
            _ = try fixture.written()
            fixture.loop.advanceTime(by: .seconds(4))
            #expect(try fixture.written().isEmpty)
            fixture.loop.advanceTime(by: .seconds(2))
            let frames = try fixture.written()
            #expect(Fixture.closeCode(frames) == 4001)
            #expect(!fixture.channel.isActive)
        }
    }

    @Test("slow consumer: a socket full for WS_SLOW_CONSUMER_MS gets 4008 as its next frame")
    func slowConsumer() async throws {
        var configuration = GatewayConfiguration()
        configuration.slowConsumerTimeout = .milliseconds(300)
        try await withFixture(configuration) { fixture in
            fixture.channel.isWritable = false
            fixture.channel.pipeline.fireChannelWritabilityChanged()
            fixture.loop.advanceTime(by: .milliseconds(200))
            #expect(try fixture.written().isEmpty)
            fixture.loop.advanceTime(by: .milliseconds(200))
            let frames = try fixture.written()
            #expect(Fixture.closeCode(frames) == 4008)
            #expect(String(buffer: frames[0].payload.getSlice(at: 2, length: frames[0].payload.readableBytes - 2)!).hasPrefix("XYW003"))
        }
    }

    @Test("heartbeat: pings every WS_PING_INTERVAL; two unanswered close the connection")
    func heartbeat() async throws {
        var configuration = GatewayConfiguration()
        configuration.pingInterval = .seconds(1)
        try await withFixture(configuration) { fixture in
            fixture.loop.advanceTime(by: .seconds(1))
            #expect(try fixture.written().map(\.opcode) == [0x9])
            try fixture.send(.pong, ByteBuffer())
            fixture.loop.advanceTime(by: .seconds(1))
            #expect(try fixture.written().map(\.opcode) == [0x9])
            fixture.loop.advanceTime(by: .seconds(1))
            #expect(try fixture.written().map(\.opcode) == [0x9])
            fixture.loop.advanceTime(by: .seconds(1))
            #expect(Fixture.closeCode(try fixture.written()) == 1001)
        }
    }

    @Test("after the 1008 for repeated abuse, subscribe requests never reach NATS while the queue drains")
    func noSubscribeAfterClose() async throws {
        try await withFixture { fixture in
            // A full socket keeps the session draining (its replies queued) after it decides to close.
            fixture.channel.isWritable = false
            fixture.channel.pipeline.fireChannelWritabilityChanged()
            for _ in 0..<21 { try fixture.send(text: "junk") }
            #expect(fixture.channel.isActive)
            for group in ["a", "b", "c"] { try fixture.send(text: #"{"op":"subscribe","subject":"xy.md.tick.\#(group)"}"#) }
            #expect(fixture.hub.subjects.isEmpty)
            fixture.channel.isWritable = true
            fixture.channel.pipeline.fireChannelWritabilityChanged()
            let frames = try fixture.written()
            #expect(Fixture.closeCode(frames) == 1008)
            #expect(!frames.contains { String(buffer: $0.payload).contains("subscribed") })
            #expect(fixture.hub.subjects.isEmpty)
            #expect(!fixture.channel.isActive)
        }
    }
}

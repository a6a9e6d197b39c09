import NIOCore
import NIOSSL
import NIOTLS

/// The thin I/O side of one socket: runs the handshake (INFO, optional TLS upgrade, CONNECT, PONG),
/// then feeds bytes to `NATSProtocolParser` and hands each operation to the client on the event loop.
final class NATSChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum HandshakeState {
        case awaitingInfo
        case tlsHandshake(NATSServerInfo)
        case awaitingPong(NATSServerInfo)
        case ready
        case failed
    }

    private let client: NATSClient
    private let address: NATSServerAddress
    private let handshake: EventLoopPromise<NATSServerInfo>
    private var state = HandshakeState.awaitingInfo
    private var parser = NATSProtocolParser()
    /// Unparsed tail of earlier reads, owned only by us (never shared with a delivered slice).
    private var pending: ByteBuffer?
    private var needsFlush = false

    init(client: NATSClient, address: NATSServerAddress, handshake: EventLoopPromise<NATSServerInfo>) {
        self.client = client
        self.address = address
        self.handshake = handshake
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        var buffer: ByteBuffer
        if var pending {
            self.pending = nil
            pending.writeBuffer(&incoming)
            buffer = pending
        } else {
            buffer = incoming
        }
        var messages = 0
        var bytes = 0
        let malformedBefore = parser.malformedHeaders
        defer {
            if messages > 0 { client.countInbound(messages: messages, bytes: bytes) }
            if parser.malformedHeaders != malformedBefore {
                client.logger.warning("delivered messages without their malformed header blocks", metadata: ["count": "\(parser.malformedHeaders - malformedBefore)"])
            }
        }
        do {
            while true {
                if case .failed = state { return }
                guard let op = try parser.parse(&buffer) else { break }
                if case .msg(let message) = op {
                    messages += 1
                    bytes += message.payload.readableBytes
                }
                handle(op, context: context)
            }
        } catch {
            fail(context: context, error: error)
            return
        }
        let slicedAny = messages > 0
        if buffer.readableBytes > 0 {
            if slicedAny || buffer.readerIndex > 0 {
                // Copy the tail out so appending later never copies a buffer a consumer still holds.
                var tail = context.channel.allocator.buffer(capacity: max(buffer.readableBytes, min(parser.bytesNeeded, parser.maxMessageLength + 2)))
                tail.writeBuffer(&buffer)
                pending = tail
            } else {
                pending = buffer
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if needsFlush {
            needsFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    private func handle(_ op: NATSServerOp, context: ChannelHandlerContext) {
        switch state {
        case .ready:
            switch op {
            case .msg(let message):
                client.deliver(message)
            case .ping:
                var pong = context.channel.allocator.buffer(capacity: 6)
                pong.writeNATSPong()
                context.write(wrapOutboundOut(pong), promise: nil)
                needsFlush = true
            case .pong:
                client.receivedPong()
            case .info(let json):
                if let info = try? NATSServerInfo.decode(json) {
                    parser.maxMessageLength = Self.messageLimit(info)
                    client.receivedInfo(info, from: address)
                }
            case .err(let text):
                client.receivedServerError(text)
            case .ok:
                break
            }
        case .awaitingInfo:
            guard case .info(let json) = op else {
                fail(context: context, error: NATSError(.protocolError, "expected INFO first from \(address)"))
                return
            }
            do {
                let info = try NATSServerInfo.decode(json)
                parser.maxMessageLength = Self.messageLimit(info)
                try startTLSIfNeeded(info: info, context: context)
            } catch {
                fail(context: context, error: error)
            }
        case .awaitingPong(let info):
            switch op {
            case .pong:
                state = .ready
                handshake.succeed(info)
            case .err(let text):
                fail(context: context, error: NATSClient.errorForServerText(text))
            case .ping:
                var pong = context.channel.allocator.buffer(capacity: 6)
                pong.writeNATSPong()
                context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
            case .ok, .info:
                break
            case .msg:
                fail(context: context, error: NATSError(.protocolError, "MSG before the handshake completed"))
            }
        case .tlsHandshake:
            fail(context: context, error: NATSError(.protocolError, "data before the TLS handshake completed"))
        case .failed:
            break
        }
    }

    /// The server never sends more than its own `max_payload` (headers included); a little room for safety.
    static func messageLimit(_ info: NATSServerInfo) -> Int {
        max(info.maxPayload, 0) + 4096
    }

    private func startTLSIfNeeded(info: NATSServerInfo, context: ChannelHandlerContext) throws {
        let wantTLS = info.tlsRequired == true || address.tlsRequired || client.options.tls?.required == true
        guard wantTLS else {
            try sendConnect(info: info, tls: false, context: context)
            return
        }
        let sslContext = try client.makeSSLContext()
        let hostname = address.host.isIPAddress ? nil : address.host
        let sslHandler = try NIOSSLClientHandler(context: sslContext, serverHostname: hostname)
        state = .tlsHandshake(info)
        try context.pipeline.syncOperations.addHandler(sslHandler, position: .first)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .tlsHandshake(let info) = state, let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted = tlsEvent {
            do {
                try sendConnect(info: info, tls: true, context: context)
            } catch {
                fail(context: context, error: error)
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func sendConnect(info: NATSServerInfo, tls: Bool, context: ChannelHandlerContext) throws {
        let connect = try client.connectCommand(info: info, address: address, tls: tls)
        var buffer = context.channel.allocator.buffer(capacity: connect.utf8.count + 16)
        buffer.writeNATSConnect(json: connect)
        buffer.writeNATSPing()
        state = .awaitingPong(info)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    private func fail(context: ChannelHandlerContext, error: any Error) {
        switch state {
        case .ready:
            client.logger.warning("closing connection after error", metadata: ["server": "\(address)", "error": "\(error)"])
            client.noteConnectionError(error)
        case .failed:
            return
        default:
            handshake.fail(error)
        }
        state = .failed
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let wrapped: any Error
        if error is NIOSSLError || error is BoringSSLError {
            wrapped = NATSError(.tlsError, "TLS with \(address) failed: \(error)")
        } else {
            wrapped = error
        }
        fail(context: context, error: wrapped)
    }

    func channelInactive(context: ChannelHandlerContext) {
        switch state {
        case .ready, .failed:
            client.channelClosed(context.channel)
        default:
            state = .failed
            handshake.fail(NATSError(.connectFailed, "\(address) closed the connection during the handshake"))
        }
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension NATSChannelHandler: Sendable {}

extension String {
    /// Literal IPv4 or IPv6 address: such hosts get no SNI.
    var isIPAddress: Bool {
        if contains(":") { return true }
        let parts = split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { UInt8($0) != nil }
    }
}

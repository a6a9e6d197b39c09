import NIOCore
import NIOSSL
import NIOTLS

/// The thin I/O side of one socket: feeds bytes to `NATSProtocolParser`, asks the client's
/// ``NATSConnectionStateMachine`` what each operation means for this socket (handshake step,
/// delivery, PONG, lame duck, `-ERR`) and performs the answer; the machine decides, this writes.
final class NATSChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let client: NATSClient
    private let address: NATSServerAddress
    /// This socket's id in the machine (``NATSConnectionStateMachine/LifecycleAction/openSocket(id:)``).
    let id: Int
    // The state below is touched only on the channel's event loop, one callback at a time, so
    // no two accesses can overlap: the run-time exclusivity check Swift would otherwise make on
    // each access (a class's stored property, several per message) is switched off for it.
    @exclusivity(unchecked) private var parser = NATSProtocolParser()
    /// Unparsed tail of earlier reads, owned only by us (never shared with a delivered slice).
    @exclusivity(unchecked) private var pending: ByteBuffer?
    @exclusivity(unchecked) private var needsFlush = false
    /// The machine said this socket's handshake completed: MSGs go straight to delivery, the hot
    /// path, without asking it again per message (a socket the client drops is closed, so no
    /// later MSG reads on it).
    @exclusivity(unchecked) private var live = false
    /// The socket is being closed on the machine's word: the rest of the input is ignored.
    @exclusivity(unchecked) private var stopped = false

    init(client: NATSClient, address: NATSServerAddress, id: Int) {
        self.client = client
        self.address = address
        self.id = id
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
            while !stopped {
                guard let op = try parser.parse(&buffer) else { break }
                // One switch, `op`'s last use: a MSG on a live socket is delivered from it without
                // the message being copied out of the enum first (an `if case` then `continue` did).
                switch op {
                case .msg(let message):
                    messages += 1
                    bytes += message.payload.readableBytes
                    if live {
                        client.deliver(message)
                    } else {
                        handle(op, context: context)
                    }
                case .info, .ping, .pong, .ok, .err:
                    handle(op, context: context)
                }
            }
        } catch {
            perform(client.machine.protocolViolation(id: id, error: error), message: nil, context: context)
            return
        }
        if stopped { return }
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

    /// One operation: the machine's verdict for this socket, then the I/O it asks for.
    private func handle(_ op: NATSServerOp, context: ChannelHandlerContext) {
        switch op {
        case .msg(let message):
            perform(client.machine.messageReceived(id: id), message: message, context: context)
        case .ping:
            perform(client.machine.pingReceived(id: id), message: nil, context: context)
        case .pong:
            perform(client.machine.pongReceived(id: id), message: nil, context: context)
        case .ok:
            perform(client.machine.okReceived(id: id), message: nil, context: context)
        case .err(let text):
            perform(client.machine.errorReceived(id: id, text: text), message: nil, context: context)
        case .info(let json):
            let info: NATSServerInfo
            do {
                info = try NATSServerInfo.decode(json)
            } catch {
                // A live connection keeps going on a bad INFO; a handshake cannot.
                if !live {
                    perform(client.machine.protocolViolation(id: id, error: NATSError(.protocolError, "bad INFO from \(address): \(error)")), message: nil, context: context)
                }
                return
            }
            let wantsTLS = address.tlsRequired || client.options.tls?.required == true
            perform(client.machine.infoReceived(id: id, info: info, wantsTLS: wantsTLS), message: nil, context: context)
        }
    }

    private func perform(_ action: NATSConnectionStateMachine.InboundAction, message: NATSMessage?, context: ChannelHandlerContext) {
        switch action {
        case .none:
            break
        case .sendConnect(let info, let tls):
            parser.maxMessageLength = Self.messageLimit(info)
            do {
                try sendConnect(info: info, tls: tls, context: context)
            } catch {
                failHandshake(Self.natsError(error, address: address), context: context)
            }
        case .upgradeTLS:
            do {
                try startTLS(context: context)
            } catch {
                failHandshake(Self.natsError(error, address: address), context: context)
            }
        case .sendPong:
            var pong = context.channel.allocator.buffer(capacity: 6)
            pong.writeNATSPong()
            context.write(wrapOutboundOut(pong), promise: nil)
            needsFlush = true
        case .handshakeCompleted(let info, let isReconnect, let lameDuck):
            live = true
            parser.maxMessageLength = Self.messageLimit(info)
            client.handshakeCompleted(channel: context.channel, info: info, address: address, isReconnect: isReconnect, lameDuck: lameDuck)
        case .failHandshake(let error, let next):
            stop(context: context)
            client.perform(next, after: error, address: address)
        case .deliver:
            if let message { client.deliver(message) }
        case .completeFlush:
            client.receivedPong()
        case .updateInfo(let info, let lameDuckStarted):
            parser.maxMessageLength = Self.messageLimit(info)
            client.receivedInfo(info, from: address, lameDuckStarted: lameDuckStarted)
        case .serverError(let text, let response):
            client.receivedServerError(text, response)
        case .closeSocket(let error):
            client.logger.warning("closing connection after error", metadata: ["server": "\(address)", "error": "\(error)"])
            client.noteConnectionError(error)
            stop(context: context)
        }
    }

    /// A failure of ours during the handshake (TLS set-up, credentials): the machine decides what follows.
    private func failHandshake(_ error: NATSError, context: ChannelHandlerContext) {
        // The machine hears the cause first: closing reports the socket's end, which would otherwise
        // be taken as the reason.
        let next = client.machine.socketFailed(id: id, error: error)
        stop(context: context)
        client.perform(next, after: error, address: address)
    }

    private func stop(context: ChannelHandlerContext) {
        guard !stopped else { return }
        stopped = true
        pending = nil
        context.close(promise: nil)
    }

    /// The server never sends more than its own `max_payload` (headers included); a little room for safety.
    static func messageLimit(_ info: NATSServerInfo) -> Int {
        max(info.maxPayload, 0) + 4096
    }

    /// Any error as the client reports it: ours as they are, TLS and socket errors wrapped.
    static func natsError(_ error: any Error, address: NATSServerAddress) -> NATSError {
        if let error = error as? NATSError { return error }
        if error is NIOSSLError || error is BoringSSLError {
            return NATSError(.tlsError, "TLS with \(address) failed: \(error)")
        }
        return NATSError(.connectFailed, "\(address): \(error)")
    }

    private func startTLS(context: ChannelHandlerContext) throws {
        let sslContext = try client.makeSSLContext()
        let hostname = address.host.isIPAddress ? nil : address.host
        let sslHandler = try NIOSSLClientHandler(context: sslContext, serverHostname: hostname)
        try context.pipeline.syncOperations.addHandler(sslHandler, position: .first)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted = tlsEvent {
            perform(client.machine.tlsEstablished(id: id), message: nil, context: context)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func sendConnect(info: NATSServerInfo, tls: Bool, context: ChannelHandlerContext) throws {
        let connect = try client.connectCommand(info: info, address: address, tls: tls)
        var buffer = context.channel.allocator.buffer(capacity: connect.utf8.count + 16)
        buffer.writeNATSConnect(json: connect)
        buffer.writeNATSPing()
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if stopped { return }
        perform(client.machine.protocolViolation(id: id, error: Self.natsError(error, address: address)), message: nil, context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopped = true
        client.socketClosed(id: id, address: address)
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

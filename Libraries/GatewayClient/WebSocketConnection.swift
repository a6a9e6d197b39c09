import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// One WebSocket frame as it arrived (the gateway sends whole, unfragmented messages).
public struct WebSocketMessage: Sendable {
    public var opcode: UInt8
    public var payload: ByteBuffer

    public var text: String { String(buffer: payload) }
    public static let text: UInt8 = 0x1
    public static let binary: UInt8 = 0x2
    public static let close: UInt8 = 0x8
    public static let ping: UInt8 = 0x9
    public static let pong: UInt8 = 0xA

    /// The status code of a close frame (1005 when it carried none).
    public var closeCode: UInt16 {
        var copy = payload
        return copy.readInteger(as: UInt16.self) ?? 1005
    }
}

/// The HTTP answer to the upgrade request: 101 on success, the refusal (status, JSON body) otherwise.
public struct UpgradeResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: String

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// Why a read from a ``WebSocketConnection`` ended without a frame.
public enum WebSocketConnectionError: Error, Sendable {
    case timedOut
    case closed
    case malformedResponse(String)
}

/// A deliberately raw WebSocket client on SwiftNIO: it writes the handshake and every frame
/// itself, so tests can send what a browser never would (oversized, fragmented, invalid UTF-8
/// frames) and read the gateway's refusals as plain HTTP, and `xy bench ws` can hold thousands
/// of connections with a callback per frame on the event loop.
public final class WebSocketConnection: Sendable {
    public let channel: any Channel
    public let response: UpgradeResponse
    private let handler: NIOLoopBound<ClientHandler>

    /// Connects and sends the upgrade; returns once the response head (and any body) arrived.
    /// `onMessage`, when given, sees every frame on the event loop instead of the read queue;
    /// `receiveBufferSize` sets `SO_RCVBUF` before connecting.
    public static func connect(
        host: String, port: Int, path: String = "/ws", headers: [(String, String)] = [],
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, receiveBufferSize: Int? = nil,
        onMessage: (@Sendable (WebSocketMessage) -> Void)? = nil
    ) async throws -> WebSocketConnection {
        let responsePromise = group.next().makePromise(of: UpgradeResponse.self)
        let installed = NIOLockedValueBox<NIOLoopBound<ClientHandler>?>(nil)
        // Half-closure on: a server's FIN must not discard what a paused reader has not read yet
        // (the handler closes once everything before the FIN is read).
        var bootstrap = ClientBootstrap(group: group).channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.allowRemoteHalfClosure, value: true)
        if let receiveBufferSize {
            // A small window makes a stalled reader back the server up after a few frames.
            bootstrap = bootstrap.channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(receiveBufferSize))
        }
        let channel = try await bootstrap
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = ClientHandler(response: responsePromise, onMessage: onMessage)
                    try channel.pipeline.syncOperations.addHandler(handler)
                    installed.withLockedValue { $0 = NIOLoopBound(handler, eventLoop: channel.eventLoop) }
                }
            }
            .connect(host: host, port: port).get()
        var request = "GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        request += "Sec-WebSocket-Key: \(Self.randomKey())\r\nSec-WebSocket-Version: 13\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        try await channel.writeAndFlush(ByteBuffer(string: request)).get()
        let response: UpgradeResponse
        do {
            response = try await responsePromise.futureResult.get()
        } catch {
            channel.close(promise: nil)
            throw error
        }
        // Kept from the initializer: after a refusal the server closes and the pipeline is gone.
        guard let handler = installed.withLockedValue({ $0 }) else { throw WebSocketConnectionError.closed }
        return WebSocketConnection(channel: channel, response: response, handler: handler)
    }

    private init(channel: any Channel, response: UpgradeResponse, handler: NIOLoopBound<ClientHandler>) {
        self.channel = channel
        self.response = response
        self.handler = handler
    }

    /// The next frame from the read queue (pings are answered and not returned).
    public func next(timeout: TimeAmount = .seconds(10)) async throws -> WebSocketMessage {
        let handler = self.handler
        let promise = channel.eventLoop.makePromise(of: WebSocketMessage.self)
        channel.eventLoop.execute { handler.value.waitForMessage(promise, timeout: timeout) }
        return try await promise.futureResult.get()
    }

    /// The next text frame parsed as a JSON object whose `type` is not in `skipping`.
    public func nextText(timeout: TimeAmount = .seconds(10)) async throws -> String {
        while true {
            let message = try await next(timeout: timeout)
            if message.opcode == WebSocketMessage.text { return message.text }
            if message.opcode == WebSocketMessage.close { throw WebSocketConnectionError.closed }
        }
    }

    public func send(text: String) async throws {
        try await send(opcode: WebSocketMessage.text, payload: ByteBuffer(string: text))
    }

    /// Writes one masked frame (RFC 6455 §5.3); `fin: false` starts or continues a fragmented message.
    public func send(opcode: UInt8, payload: ByteBuffer, fin: Bool = true) async throws {
        try await channel.writeAndFlush(Self.maskedFrame(opcode: opcode, payload: payload, fin: fin)).get()
    }

    /// Writes bytes as they are: frames a well-behaved client would never send (unmasked,
    /// reserved bits), or several frames in one write, for tests of what a server does with them.
    public func send(raw bytes: ByteBuffer) async throws {
        try await channel.writeAndFlush(bytes).get()
    }

    /// One masked frame as bytes, to put several in one ``send(raw:)``.
    public static func frame(opcode: UInt8, payload: ByteBuffer) -> ByteBuffer {
        maskedFrame(opcode: opcode, payload: payload, fin: true)
    }

    /// Sends a close frame and closes the socket.
    public func close(code: UInt16 = 1000) async {
        var payload = ByteBuffer()
        payload.writeInteger(code)
        try? await send(opcode: WebSocketMessage.close, payload: payload)
        try? await channel.close()
    }

    /// Stops reading from the socket (a stalled browser): the server's writes back up.
    public func stopReading() async throws {
        try await channel.setOption(.autoRead, value: false).get()
    }

    public func resumeReading() async throws {
        try await channel.setOption(.autoRead, value: true).get()
        channel.read()
    }

    static func maskedFrame(opcode: UInt8, payload: ByteBuffer, fin: Bool) -> ByteBuffer {
        var out = ByteBuffer()
        out.reserveCapacity(payload.readableBytes + 14)
        out.writeInteger((fin ? 0x80 : 0) | opcode)
        let length = payload.readableBytes
        if length < 126 {
            out.writeInteger(UInt8(0x80 | length))
        } else if length <= Int(UInt16.max) {
            out.writeInteger(UInt8(0x80 | 126))
            out.writeInteger(UInt16(length))
        } else {
            out.writeInteger(UInt8(0x80 | 127))
            out.writeInteger(UInt64(length))
        }
        let mask = (0..<4).map { _ in UInt8.random(in: 0...255) }
        out.writeBytes(mask)
        var index = 0
        for byte in payload.readableBytesView {
            out.writeInteger(byte ^ mask[index & 3])
            index += 1
        }
        return out
    }

    static func randomKey() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        // 16 random bytes in base64: 21 free characters, then one carrying 2 bits, then "==".
        var key = String((0..<21).map { _ in alphabet[Int.random(in: 0..<64)] })
        key.append(alphabet[Int.random(in: 0..<4) * 16])
        return key + "=="
    }
}

/// Parses the HTTP response, then frames; answers pings; queues frames or hands them to `onMessage`.
final class ClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var response: EventLoopPromise<UpgradeResponse>?
    private let onMessage: (@Sendable (WebSocketMessage) -> Void)?
    private var buffer = ByteBuffer()
    private var upgraded = false
    private var pendingBodyLength: Int?
    private var pendingHead: UpgradeResponse?
    private var queue: [WebSocketMessage] = []
    private var waiter: (promise: EventLoopPromise<WebSocketMessage>, timer: Scheduled<Void>)?
    private var closed = false

    init(response: EventLoopPromise<UpgradeResponse>, onMessage: (@Sendable (WebSocketMessage) -> Void)?) {
        self.response = response
        self.onMessage = onMessage
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        buffer.writeBuffer(&bytes)
        if !upgraded { parseResponse() }
        if upgraded { parseFrames(context: context) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .some(.inputClosed) = event as? ChannelEvent {
            // Everything the server sent before its FIN has been read: the connection is over.
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        if let pendingHead {
            // A refusal closed without the whole body its Content-Length announced: keep what came.
            self.pendingHead = nil
            var head = pendingHead
            head.body = String(buffer: buffer)
            response?.succeed(head)
        }
        response?.fail(WebSocketConnectionError.closed)
        response = nil
        if let waiter, queue.isEmpty {
            self.waiter = nil
            waiter.timer.cancel()
            waiter.promise.fail(WebSocketConnectionError.closed)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        response?.fail(error)
        response = nil
        context.close(promise: nil)
    }

    func waitForMessage(_ promise: EventLoopPromise<WebSocketMessage>, timeout: TimeAmount) {
        if !queue.isEmpty {
            promise.succeed(queue.removeFirst())
            return
        }
        if closed {
            promise.fail(WebSocketConnectionError.closed)
            return
        }
        let timer = promise.futureResult.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [weak self] in
            guard let self, let waiter = self.waiter, waiter.promise.futureResult === promise.futureResult else { return }
            self.waiter = nil
            promise.fail(WebSocketConnectionError.timedOut)
        }
        waiter = (promise, timer)
    }

    private func parseResponse() {
        if let length = pendingBodyLength, var head = pendingHead {
            guard buffer.readableBytes >= length else { return }
            head.body = buffer.readString(length: length) ?? ""
            pendingHead = nil
            pendingBodyLength = nil
            response?.succeed(head)
            response = nil
            return
        }
        let view = Array(buffer.readableBytesView)
        guard let end = Self.headerEnd(view) else { return }
        let text = String(decoding: view[..<end], as: UTF8.self)
        buffer.moveReaderIndex(forwardBy: end + 4)
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusLine = lines.removeFirst()
        let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") ?? 0
        let headers = lines.compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let value = line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
            return (String(line[..<colon]), String(value))
        }
        let head = UpgradeResponse(status: status, headers: headers, body: "")
        if status == 101 {
            upgraded = true
            response?.succeed(head)
            response = nil
            return
        }
        let length = Int(head.header("Content-Length") ?? "") ?? 0
        pendingHead = head
        pendingBodyLength = length
        parseResponse()
    }

    private static func headerEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4) where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index
        }
        return nil
    }

    private func parseFrames(context: ChannelHandlerContext) {
        while let message = nextFrame() {
            if message.opcode == WebSocketMessage.ping {
                context.writeAndFlush(wrapOutboundOut(WebSocketConnection.maskedFrame(opcode: WebSocketMessage.pong, payload: message.payload, fin: true)), promise: nil)
                continue
            }
            if let onMessage {
                onMessage(message)
                continue
            }
            if let waiter {
                self.waiter = nil
                waiter.timer.cancel()
                waiter.promise.succeed(message)
            } else {
                queue.append(message)
            }
        }
        buffer.discardReadBytes()
    }

    private func nextFrame() -> WebSocketMessage? {
        let start = buffer.readerIndex
        guard let first = buffer.readInteger(as: UInt8.self), let second = buffer.readInteger(as: UInt8.self) else {
            buffer.moveReaderIndex(to: start)
            return nil
        }
        var length = Int(second & 0x7F)
        if length == 126 {
            guard let extended = buffer.readInteger(as: UInt16.self) else {
                buffer.moveReaderIndex(to: start)
                return nil
            }
            length = Int(extended)
        } else if length == 127 {
            guard let extended = buffer.readInteger(as: UInt64.self) else {
                buffer.moveReaderIndex(to: start)
                return nil
            }
            length = Int(extended)
        }
        guard let payload = buffer.readSlice(length: length) else {
            buffer.moveReaderIndex(to: start)
            return nil
        }
        return WebSocketMessage(opcode: first & 0x0F, payload: payload)
    }
}

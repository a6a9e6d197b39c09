import NIOCore
import NIOWebSocket

/// RFC 6455 §5.1–5.2 checks NIO's decoder leaves to the application, made on each frame before
/// the aggregator joins fragments (the joined frame no longer shows the mask or reserved bits):
/// a client frame must be masked, use no reserved bit (no extension is negotiated) and no
/// reserved opcode. A violation is fired as an error; the session closes with 1002.
final class WebSocketFrameValidator: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame

    /// The frame that broke the protocol, and how.
    struct Violation: Error, Hashable {
        var reason: String
    }

    /// After a violation nothing more is passed on: the connection is closing.
    private var failed = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        let frame = unwrapInboundIn(data)
        if let reason = Self.violation(frame) {
            failed = true
            context.fireErrorCaught(Violation(reason: reason))
            return
        }
        context.fireChannelRead(data)
    }

    /// Why `frame` breaks RFC 6455 for a server, or nil.
    static func violation(_ frame: WebSocketFrame) -> String? {
        guard frame.maskKey != nil else { return "client frames must be masked" }
        guard !frame.rsv1, !frame.rsv2, !frame.rsv3 else { return "reserved bits set without a negotiated extension" }
        switch frame.opcode {
        case .continuation, .text, .binary, .connectionClose, .ping, .pong:
            return nil
        default:
            return "reserved opcode \(frame.opcode)"
        }
    }
}

@available(*, unavailable)
extension WebSocketFrameValidator: Sendable {}

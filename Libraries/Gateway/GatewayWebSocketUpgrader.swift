import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatewayAuth
import NIOCore
import NIOHTTP1
import NIOWebSocket

/// Why an upgrade was refused; the HTTP handler answers it with a status and a JSON body.
enum UpgradeRefusal: Error {
    /// Authentication, Origin or subprotocol refusal (401/403).
    case auth(GatewayAuthError)
    /// Not a well-formed request or WebSocket handshake (400 XYW007).
    case badRequest(String)
    /// A connection cap was reached (429 XYW006).
    case limit(ConnectionLimitRefusal)
    /// A path that is not a WebSocket endpoint (the request is served as plain HTTP).
    case notWebSocketPath
}

/// The RFC 6455 server handshake with the gateway's own refusal path: NIO's upgrader can only
/// refuse by failing with no status of our choosing, and adds a frame encoder the gateway does
/// not use (it writes finished frames shared between connections).
struct GatewayWebSocketUpgrader: HTTPServerProtocolUpgrader, Sendable {
    /// The paths that upgrade.
    static let paths: Set<Substring> = ["/ws", "/api/v1/market-data/stream"]
    /// RFC 6455 §1.3.
    private static let acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    let supportedProtocol = "websocket"
    let requiredUpgradeHeaders: [String] = []
    let maxMessageBytes: Int
    /// Authenticates the request; its future holds extra response headers (the subprotocol) or
    /// fails with an ``UpgradeRefusal``.
    let authorize: @Sendable (Channel, HTTPRequestHead) -> EventLoopFuture<HTTPHeaders>
    /// Adds the session handler once the decoder is in place.
    let install: @Sendable (Channel, HTTPRequestHead) -> EventLoopFuture<Void>

    func buildUpgradeResponse(channel: Channel, upgradeRequest: HTTPRequestHead, initialResponseHeaders: HTTPHeaders) -> EventLoopFuture<HTTPHeaders> {
        let path = upgradeRequest.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        guard Self.paths.contains(path) else {
            return channel.eventLoop.makeFailedFuture(UpgradeRefusal.notWebSocketPath)
        }
        guard upgradeRequest.method == .GET else {
            return channel.eventLoop.makeFailedFuture(UpgradeRefusal.badRequest("a WebSocket upgrade is a GET"))
        }
        if let problem = GatewayHTTPHandler.hostProblem(upgradeRequest) {
            return channel.eventLoop.makeFailedFuture(UpgradeRefusal.badRequest(problem))
        }
        let keys = upgradeRequest.headers["Sec-WebSocket-Key"]
        guard keys.count == 1, let key = keys.first?.trimmingCharacters(in: .whitespaces),
            let decoded = Self.base64Decoded(key), decoded == 16
        else {
            return channel.eventLoop.makeFailedFuture(UpgradeRefusal.badRequest("Sec-WebSocket-Key must be one base64 value of 16 bytes"))
        }
        guard upgradeRequest.headers["Sec-WebSocket-Version"].first?.trimmingCharacters(in: .whitespaces) == "13" else {
            return channel.eventLoop.makeFailedFuture(UpgradeRefusal.badRequest("Sec-WebSocket-Version must be 13"))
        }
        let accept = Data(Insecure.SHA1.hash(data: Array((key + Self.acceptGUID).utf8))).base64EncodedString()
        return authorize(channel, upgradeRequest).map { extra in
            var headers = initialResponseHeaders
            headers.add(name: "Sec-WebSocket-Accept", value: accept)
            headers.add(contentsOf: extra)
            return headers
        }
    }

    func upgrade(context: ChannelHandlerContext, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<Void> {
        let channel = context.channel
        let upgraded = channel.eventLoop.makeCompletedFuture {
            let sync = channel.pipeline.syncOperations
            try sync.addHandler(ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: maxMessageBytes)))
            try sync.addHandler(WebSocketFrameValidator())
            try sync.addHandler(NIOWebSocketFrameAggregator(
                minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 1024, maxAccumulatedFrameSize: maxMessageBytes))
        }.flatMap {
            install(channel, upgradeRequest)
        }
        // After the 101 the HTTP handlers and their deadlines are gone: a connection whose
        // session could not be installed has nothing left to end it, and would hold its counts.
        upgraded.whenFailure { _ in channel.close(promise: nil) }
        return upgraded
    }

    /// The decoded length of a base64 value, or nil when it is not base64.
    static func base64Decoded(_ text: String) -> Int? {
        Data(base64Encoded: text)?.count
    }
}

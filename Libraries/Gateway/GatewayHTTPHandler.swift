#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatewayAuth
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import XYService

/// What the plain-HTTP side of the gateway's port serves besides WebSockets.
struct HTTPRoutes: Sendable {
    /// Prometheus text of every metric.
    let metrics: @Sendable () -> [UInt8]
    /// `/healthz`: whether the gateway is ready, and the JSON body.
    let health: @Sendable () -> (ready: Bool, body: String)
    /// Root of the demo files, or nil.
    let staticDirectory: String?
    let gatewayMetrics: GatewayMetrics
    let noteError: @Sendable (String) -> Void
    let logger: Logger
}

/// Plain HTTP on the gateway's port: refused upgrades answered with their status and a JSON
/// body `{"code","message"}` (the upgrade handler passes the refusal down as an error before the
/// request), `/metrics`, `/healthz`, and the demo files. Removed from the pipeline on upgrade.
final class GatewayHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: HTTPRoutes
    private var refusal: UpgradeRefusal?
    private var head: HTTPRequestHead?

    init(routes: HTTPRoutes) {
        self.routes = routes
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let refusal = error as? UpgradeRefusal {
            self.refusal = refusal
            return
        }
        context.fireErrorCaught(error)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body:
            break
        case .end:
            guard let head else { return }
            self.head = nil
            let refusal = self.refusal
            self.refusal = nil
            respond(context: context, head: head, refusal: refusal)
        }
    }

    private func respond(context: ChannelHandlerContext, head: HTTPRequestHead, refusal: UpgradeRefusal?) {
        let path = String(head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        switch refusal {
        case .auth(let error):
            routes.gatewayMetrics.authFailure(code: error.code.rawValue)
            routes.noteError(error.code.rawValue)
            routes.logger.warning("upgrade refused", metadata: [
                "code": "\(error.code.rawValue)", "status": "\(error.httpStatus)", "reason": "\(error.reason)",
                "remote": "\(context.channel.remoteAddress?.ipAddress ?? "?")",
            ])
            send(context, status: .init(statusCode: error.httpStatus), json: error.jsonBody, keepAlive: false)
            return
        case .badHandshake(let message):
            send(context, status: .badRequest, json: Self.errorBody(code: "XYW007", message: message), keepAlive: false)
            return
        case .notWebSocketPath, nil:
            break
        }
        guard head.method == .GET || head.method == .HEAD else {
            send(context, status: .methodNotAllowed, json: Self.errorBody(code: "XYW007", message: "only GET and HEAD"), keepAlive: head.isKeepAlive)
            return
        }
        let keepAlive = head.isKeepAlive
        switch path {
        case "/metrics":
            var body = ByteBuffer()
            body.writeBytes(routes.metrics())
            send(context, status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8", body: body, keepAlive: keepAlive, head: head.method == .HEAD)
        case "/healthz":
            let (ready, text) = routes.health()
            send(context, status: ready ? .ok : .serviceUnavailable, contentType: "application/json", body: ByteBuffer(string: text), keepAlive: keepAlive, head: head.method == .HEAD)
        case _ where GatewayWebSocketUpgrader.paths.contains(Substring(path)):
            send(context, status: .upgradeRequired, json: Self.errorBody(code: "XYW007", message: "this endpoint needs a WebSocket upgrade"), keepAlive: keepAlive)
        default:
            serveFile(context: context, path: path, head: head)
        }
    }

    private func serveFile(context: ChannelHandlerContext, path: String, head: HTTPRequestHead) {
        guard let root = routes.staticDirectory, let relative = Self.safeRelativePath(path) else {
            send(context, status: .notFound, json: Self.errorBody(code: "XYW007", message: "not found"), keepAlive: head.isKeepAlive)
            return
        }
        let file = root + "/" + relative
        let loop = context.eventLoop
        let bound = NIOLoopBound(context, eventLoop: loop)
        let handler = NIOLoopBound(self, eventLoop: loop)
        NIOThreadPool.singleton.runIfActive(eventLoop: loop) { () -> [UInt8]? in
            FileManager.default.contents(atPath: file).map { [UInt8]($0) }
        }.whenComplete { result in
            let context = bound.value
            guard case .success(let bytes?) = result else {
                handler.value.send(context, status: .notFound, json: Self.errorBody(code: "XYW007", message: "not found"), keepAlive: head.isKeepAlive)
                return
            }
            handler.value.send(
                context, status: .ok, contentType: Self.contentType(of: relative), body: ByteBuffer(bytes: bytes),
                keepAlive: head.isKeepAlive, head: head.method == .HEAD, extraHeaders: [("Cache-Control", "no-cache")])
        }
    }

    /// A request path as a file path under the root, or nil when it could leave the root or names
    /// something other than a plain file name (no `..`, no percent escapes, no hidden files).
    static func safeRelativePath(_ path: String) -> String? {
        var relative = path
        if relative.hasSuffix("/") { relative += "index.html" }
        guard relative.hasPrefix("/") else { return nil }
        relative.removeFirst()
        let segments = relative.split(separator: "/", omittingEmptySubsequences: false)
        guard !segments.isEmpty, segments.allSatisfy({ segment in
            !segment.isEmpty && !segment.hasPrefix(".")
                && segment.utf8.allSatisfy { byte in
                    (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                        || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
                        || byte == UInt8(ascii: ".")
                }
        }) else { return nil }
        return relative
    }

    static func contentType(of path: String) -> String {
        switch path.split(separator: ".").last.map({ $0.lowercased() }) ?? "" {
        case "html": "text/html; charset=utf-8"
        case "js", "mjs": "text/javascript; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "json": "application/json"
        case "png": "image/png"
        case "svg": "image/svg+xml"
        case "ico": "image/x-icon"
        default: "application/octet-stream"
        }
    }

    static func errorBody(code: String, message: String) -> String {
        "{\"code\":" + JSONText.quoted(code) + ",\"message\":" + JSONText.quoted(message) + "}"
    }

    private func send(_ context: ChannelHandlerContext, status: HTTPResponseStatus, json: String, keepAlive: Bool) {
        send(context, status: status, contentType: "application/json", body: ByteBuffer(string: json), keepAlive: keepAlive)
    }

    private func send(
        _ context: ChannelHandlerContext, status: HTTPResponseStatus, contentType: String, body: ByteBuffer, keepAlive: Bool,
        head: Bool = false, extraHeaders: [(String, String)] = []
    ) {
        var headers = HTTPHeaders([("Content-Type", contentType), ("Content-Length", "\(body.readableBytes)")])
        headers.add(contentsOf: extraHeaders)
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        if !head { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            done.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}

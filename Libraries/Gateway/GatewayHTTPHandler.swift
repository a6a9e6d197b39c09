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
import XYCore

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
    /// Keeps deadline closes and cap refusals from flooding the log.
    let timeoutLog = LogThrottle()
    let refusalLog = LogThrottle()
}

/// Plain HTTP on the gateway's port: refused upgrades answered with their status and a JSON
/// body `{"code","message"}` (the upgrade handler passes the refusal down as an error before the
/// request), `/metrics`, `/healthz`, and the demo files. Removed from the pipeline on upgrade.
/// Until then it also keeps the connection's deadlines (``DeadlineStateMachine``), refuses
/// HTTP/1.1 without one valid `Host` (400, RFC 9112 §3.2), and asks the connection's
/// ``ConnectionAdmission`` whether its client address is over its cap (429).
final class GatewayHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: HTTPRoutes
    private let admission: ConnectionAdmission?
    private var refusal: UpgradeRefusal?
    private var head: HTTPRequestHead?
    private var deadlines: DeadlineStateMachine
    private var timer: Scheduled<Void>?
    private var counted = false

    /// - Parameters:
    ///   - admission: the connection's share of the caps; nil counts nothing.
    init(routes: HTTPRoutes, admission: ConnectionAdmission?, requestTimeout: TimeAmount, keepAliveTimeout: TimeAmount) {
        self.routes = routes
        self.admission = admission
        self.deadlines = DeadlineStateMachine(requestTimeout: requestTimeout, keepAliveTimeout: keepAliveTimeout)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        counted = true
        routes.gatewayMetrics.httpConnections.increment()
        if context.channel.isActive {
            perform(deadlines.connectionOpened(), context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        perform(deadlines.finished(), context: context)
        if counted {
            counted = false
            routes.gatewayMetrics.httpConnections.decrement()
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        perform(deadlines.connectionOpened(), context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        perform(deadlines.finished(), context: context)
        context.fireChannelInactive()
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
            perform(deadlines.requestHeadReceived(), context: context)
        case .body:
            break
        case .end:
            guard let head else { return }
            self.head = nil
            var refusal = self.refusal
            self.refusal = nil
            switch refusal {
            case nil, .notWebSocketPath:
                if let problem = Self.hostProblem(head) {
                    refusal = .badRequest(problem)
                } else if let limit = admission?.admit(head) {
                    refusal = .limit(limit)
                } else {
                    admission?.releaseCounts(on: context.channel)
                }
            case .auth, .badRequest, .limit:
                break
            }
            respond(context: context, head: head, refusal: refusal)
        }
    }

    /// Why a request's `Host` breaks RFC 9112 §3.2 (HTTP/1.1 without one, more than one, or a
    /// value that is no `host[:port]`), or nil when it is fine. Shared with the upgrader.
    static func hostProblem(_ head: HTTPRequestHead) -> String? {
        let hosts = head.headers["Host"]
        if hosts.count > 1 { return "more than one Host header" }
        guard let host = hosts.first else {
            let atLeast11 = head.version.major > 1 || (head.version.major == 1 && head.version.minor >= 1)
            return atLeast11 ? "HTTP/1.1 requires a Host header" : nil
        }
        let allowed = host.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || Self.hostPunctuation.contains(byte)
        }
        return allowed ? nil : "the Host header is not a valid host[:port]"
    }

    /// RFC 3986 `reg-name`, `IP-literal` and port characters besides letters and digits.
    private static let hostPunctuation: Set<UInt8> = Set("-._~!$&'()*+,;=:[]%".utf8)

    /// Does what the deadline machine decided.
    private func perform(_ action: DeadlineStateMachine.Action, context: ChannelHandlerContext) {
        switch action {
        case .none:
            return
        case .cancel:
            timer?.cancel()
            timer = nil
        case .arm(let timeout, _, let generation):
            timer?.cancel()
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
                let handler = handler.value
                handler.perform(handler.deadlines.timerFired(generation: generation), context: bound.value)
            }
        case .close(let reason):
            timer = nil
            switch reason {
            case .request: routes.gatewayMetrics.requestTimeouts.increment()
            case .idle: routes.gatewayMetrics.idleTimeouts.increment()
            }
            if let suppressed = routes.timeoutLog.admit() {
                routes.logger.info("connection closed before upgrading: deadline passed", metadata: [
                    "reason": "\(reason.rawValue)", "remote": "\(admission?.clientAddress ?? context.channel.remoteAddress?.ipAddress ?? "?")",
                    "timeout_ms": "\((reason == .request ? deadlines.requestTimeout : deadlines.keepAliveTimeout).nanoseconds / 1_000_000)",
                    "suppressed": "\(suppressed)",
                ])
            }
            context.close(promise: nil)
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
                "remote": "\(admission?.clientAddress ?? context.channel.remoteAddress?.ipAddress ?? "?")",
            ])
            send(context, status: .init(statusCode: error.httpStatus), json: error.jsonBody, keepAlive: false)
            return
        case .badRequest(let message):
            send(context, status: .badRequest, json: Self.errorBody(code: "XYW007", message: message), keepAlive: false)
            return
        case .limit(let limit):
            switch limit.scope {
            case .address: routes.gatewayMetrics.refusedPerAddress.increment()
            case .subject: routes.gatewayMetrics.refusedPerSubject.increment()
            }
            routes.noteError(XYErrorCode.quotaExceeded.rawValue)
            if let suppressed = routes.refusalLog.admit() {
                routes.logger.warning("connection refused: cap reached", metadata: [
                    "code": "\(XYErrorCode.quotaExceeded)", "status": "429", "limit": "\(limit.scope.rawValue)", "max": "\(limit.limit)",
                    "remote": "\(admission?.clientAddress ?? context.channel.remoteAddress?.ipAddress ?? "?")", "suppressed": "\(suppressed)",
                ])
            }
            send(context, status: .tooManyRequests, json: Self.errorBody(code: XYErrorCode.quotaExceeded.rawValue, message: limit.message), keepAlive: false)
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
        perform(deadlines.responseEnded(), context: context)
        if !keepAlive {
            done.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}

@available(*, unavailable)
extension GatewayHTTPHandler: Sendable {}

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One HTTP/1.1 GET per connection over NIO (`http://` directly, `https://` through NIOSSL), for
/// the stack's rare outbound fetches: the gateway's JWKS every few minutes, xy-admin's vendor
/// backfills and fallbacks. A pooled HTTP client would be state to get wrong for that traffic, so
/// this does exactly one exchange (no redirects, `Connection: close`) under one deadline from
/// connect to last byte and a cap on the body, and hands back the status and body; what a status
/// means, and which error code a failure is, stays with each caller.
public struct HTTPGetClient: Sendable {
    /// The whole exchange, connect to last byte, must finish within this.
    public var timeout: TimeAmount
    /// The largest body accepted.
    public var maximumBodySize: Int
    /// The TLS settings for `https://` (system trust roots by default).
    public var tlsConfiguration: TLSConfiguration
    /// Where each exchange's connection runs (NIO's shared singleton by default).
    public let group: any EventLoopGroup

    public init(
        timeout: TimeAmount, maximumBodySize: Int, tlsConfiguration: TLSConfiguration = .makeClientConfiguration(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.timeout = timeout
        self.maximumBodySize = maximumBodySize
        self.tlsConfiguration = tlsConfiguration
        self.group = group
    }

    /// The answer, whatever its status.
    public struct Response: Sendable, Hashable {
        public var status: Int
        public var body: Data
    }

    /// GETs `url.target` from `url`'s host with `headers` added to `Host` and `Connection: close`.
    public func get(_ url: HTTPGetURL, headers: [(String, String)] = []) async throws(HTTPGetError) -> Response {
        do {
            return try await exchange(url, headers: headers)
        } catch let error as HTTPGetError {
            throw error
        } catch {
            throw .connect("\(error)")
        }
    }

    private func exchange(_ url: HTTPGetURL, headers: [(String, String)]) async throws -> Response {
        let sslContext: NIOSSLContext?
        do {
            sslContext = url.secure ? try NIOSSLContext(configuration: tlsConfiguration) : nil
        } catch {
            throw HTTPGetError.connect("the TLS settings are not usable: \(error)")
        }
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: url.target)
        head.headers.add(name: "Host", value: url.hostHeader)
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        head.headers.replaceOrAdd(name: "Connection", value: "close")
        let eventLoop = group.next()
        let promise = eventLoop.makePromise(of: Response.self)
        let serverName = url.serverName
        let maximumBodySize = self.maximumBodySize
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelInitializer { [head] channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: serverName))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(
                        GetExchangeHandler(head: head, maximumBodySize: maximumBodySize, promise: promise))
                }
            }
        let deadline = eventLoop.scheduleTask(in: timeout) { promise.fail(HTTPGetError.timeout) }
        defer { deadline.cancel() }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: url.host, port: url.port).get()
        } catch {
            let failure: HTTPGetError
            if case ChannelError.connectTimeout = error {
                failure = .timeout
            } else {
                failure = .connect("\(error)")
            }
            promise.fail(failure)
            throw failure
        }
        defer { channel.close(promise: nil) }
        return try await promise.futureResult.get()
    }
}

/// Why a GET produced no answer.
public enum HTTPGetError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No connection or a broken one: refused, DNS, the TLS handshake or settings.
    case connect(String)
    /// No complete answer within the client's timeout.
    case timeout
    /// The body grew past the client's `maximumBodySize`.
    case tooLarge
    /// The peer closed the connection before the answer was complete.
    case closed

    public var description: String {
        switch self {
        case .connect(let cause): "cannot connect: \(cause)"
        case .timeout: "no complete answer in time"
        case .tooLarge: "the body is over the size limit"
        case .closed: "the connection closed before the answer was complete"
        }
    }
}

/// An `http(s)://host[:port][/path][?query]` URL taken apart for one GET: where to connect, what
/// to ask for, and the `Host` header and TLS server name that go with it.
public struct HTTPGetURL: Sendable, Hashable {
    /// `https`.
    public let secure: Bool
    /// The host as the URL spells it (an IPv6 address without its brackets).
    public let host: String
    public let port: Int
    /// The path and query, percent-encoded, that the request line asks for; `/` at least.
    public var target: String

    /// Fails on anything but `http(s)://host[:port][/path][?query]` (no user, no fragment).
    public init?(_ text: String) {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty,
              components.user == nil, components.password == nil, components.fragment == nil
        else { return nil }
        secure = scheme == "https"
        // Some Foundations keep an IPv6 literal's brackets in `host`; NIO connects to the bare address.
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        port = components.port ?? (secure ? 443 : 80)
        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        target = components.percentEncodedQuery.map { path + "?" + $0 } ?? path
    }

    /// `scheme://host:port`, for messages.
    public var origin: String {
        "\(secure ? "https" : "http")://\(bracketedHost):\(port)"
    }

    /// The `Host` header: the port left out when it is the scheme's default.
    public var hostHeader: String {
        port == (secure ? 443 : 80) ? bracketedHost : "\(bracketedHost):\(port)"
    }

    /// The name TLS sends as SNI and checks the certificate against: none for an IP address,
    /// which SNI may not carry.
    public var serverName: String? {
        host.contains(":") || host.allSatisfy({ $0.isNumber || $0 == "." }) ? nil : host
    }

    private var bracketedHost: String {
        host.contains(":") ? "[\(host)]" : host
    }
}

/// Writes the request once the connection is up and collects the answer's status and body.
private final class GetExchangeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let head: HTTPRequestHead
    private let maximumBodySize: Int
    private let promise: EventLoopPromise<HTTPGetClient.Response>
    private var status = 0
    private var body = Data()

    init(head: HTTPRequestHead, maximumBodySize: Int, promise: EventLoopPromise<HTTPGetClient.Response>) {
        self.head = head
        self.maximumBodySize = maximumBodySize
        self.promise = promise
    }

    func channelActive(context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let response):
            status = Int(response.status.code)
        case .body(let buffer):
            guard body.count + buffer.readableBytes <= maximumBodySize else {
                promise.fail(HTTPGetError.tooLarge)
                context.close(promise: nil)
                return
            }
            body.append(contentsOf: buffer.readableBytesView)
        case .end:
            promise.succeed(HTTPGetClient.Response(status: status, body: body))
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(HTTPGetError.closed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(HTTPGetError.connect("\(error)"))
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension GetExchangeHandler: Sendable {}

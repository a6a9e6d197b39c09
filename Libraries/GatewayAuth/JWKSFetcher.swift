import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// Fetches a JWKS document with one HTTP/1.1 GET: `http://` directly, `https://` through NIOSSL.
///
/// A JWKS fetch is one small GET every few minutes, so a full HTTP client would be dead weight;
/// this one does exactly that GET (no redirects, `Connection: close`, a body cap and a deadline)
/// and hands back the body of a 200. Anything else is an error that keeps the old keys in use.
public struct JWKSFetcher: Sendable {
    /// The whole fetch, connect to last byte, must finish within this.
    public var timeout: TimeAmount
    /// The largest body accepted; a JWKS is a few KiB.
    public var maximumBodySize: Int
    /// The TLS settings for `https://` (system trust roots by default).
    public var tlsConfiguration: TLSConfiguration
    let group: any EventLoopGroup

    public init(
        timeout: TimeAmount = .seconds(5),
        maximumBodySize: Int = 1 << 20,
        tlsConfiguration: TLSConfiguration = .makeClientConfiguration(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.timeout = timeout
        self.maximumBodySize = maximumBodySize
        self.tlsConfiguration = tlsConfiguration
        self.group = group
    }

    /// A fetch that failed: bad URL, connection, TLS, status or body.
    public struct FetchError: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// GETs `url` and returns the body of a 200 answer.
    public func fetch(_ url: String) async throws -> Data {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
        else { throw FetchError(message: "not an http(s) URL: \(url)") }
        let port = components.port ?? (scheme == "https" ? 443 : 80)
        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        let target = components.percentEncodedQuery.map { path + "?" + $0 } ?? path
        let hostHeader = components.port.map { "\(host):\($0)" } ?? host

        let sslContext: NIOSSLContext? = scheme == "https" ? try NIOSSLContext(configuration: tlsConfiguration) : nil
        let maximumBodySize = self.maximumBodySize
        let eventLoop = group.next()
        let promise = eventLoop.makePromise(of: Data.self)
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        let serverName = host.first?.isNumber == true || host.contains(":") ? nil : host
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: serverName))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(
                        GetHandler(target: target, host: hostHeader, maximumBodySize: maximumBodySize, promise: promise))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: host, port: port).get()
        } catch {
            promise.fail(error)
            throw FetchError(message: "cannot connect to \(hostHeader): \(error)")
        }
        let deadline = eventLoop.scheduleTask(in: timeout) {
            promise.fail(FetchError(message: "no complete answer from \(hostHeader) within \(timeout)"))
        }
        defer {
            deadline.cancel()
            channel.close(promise: nil)
        }
        return try await promise.futureResult.get()
    }
}

/// Sends the GET once active and completes the promise with the body of a 200.
private final class GetHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let target: String
    private let host: String
    private let maximumBodySize: Int
    private let promise: EventLoopPromise<Data>
    private var status: HTTPResponseStatus?
    private var body = Data()

    init(target: String, host: String, maximumBodySize: Int, promise: EventLoopPromise<Data>) {
        self.target = target
        self.host = host
        self.maximumBodySize = maximumBodySize
        self.promise = promise
    }

    func channelActive(context: ChannelHandlerContext) {
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: target)
        head.headers.add(name: "Host", value: host)
        head.headers.add(name: "Accept", value: "application/json")
        head.headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = head.status
        case .body(let buffer):
            guard body.count + buffer.readableBytes <= maximumBodySize else {
                promise.fail(JWKSFetcher.FetchError(message: "JWKS body larger than \(maximumBodySize) bytes"))
                context.close(promise: nil)
                return
            }
            body.append(contentsOf: buffer.readableBytesView)
        case .end:
            if status == .ok {
                promise.succeed(body)
            } else {
                promise.fail(JWKSFetcher.FetchError(message: "JWKS answer status \(status.map { "\($0.code)" } ?? "none")"))
            }
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(JWKSFetcher.FetchError(message: "connection closed before the answer was complete"))
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension GetHandler: Sendable {}

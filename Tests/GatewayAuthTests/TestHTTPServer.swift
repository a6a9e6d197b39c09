import Foundation
import NATSTestSupport
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A real HTTP/1.1 server on a free loopback port that serves documents set by the test and
/// counts the requests it answered: the JWKS endpoint the key store fetches from.
final class TestHTTPServer: Sendable {
    struct State {
        var documents: [String: String] = [:]
        var requests = 0
        /// The headers of the newest request.
        var lastHeaders = HTTPHeaders()
    }

    let state = NIOLockedValueBox(State())
    let scheme: String
    private let channel: NIOLockedValueBox<(any Channel)?> = NIOLockedValueBox(nil)

    private init(scheme: String) {
        self.scheme = scheme
    }

    /// Starts the server; with `tls`, it speaks HTTPS.
    static func start(tls: TLSConfiguration? = nil) async throws -> TestHTTPServer {
        let server = TestHTTPServer(scheme: tls == nil ? "http" : "https")
        let sslContext = try tls.map { try NIOSSLContext(configuration: $0) }
        let state = server.state
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(state: state))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        server.channel.withLockedValue { $0 = channel }
        return server
    }

    var url: String {
        let port = channel.withLockedValue { $0?.localAddress?.port } ?? 0
        return "\(scheme)://127.0.0.1:\(port)"
    }

    var requests: Int { state.withLockedValue { $0.requests } }

    var lastHeaders: HTTPHeaders { state.withLockedValue { $0.lastHeaders } }

    func serve(_ path: String, _ body: String?) {
        state.withLockedValue { $0.documents[path] = body }
    }

    func stop() async throws {
        try await channel.withLockedValue { $0 }?.close()
    }

    /// Waits until the server has answered `count` requests (background refreshes).
    func waitForRequests(_ count: Int, timeout: Duration = .seconds(10)) async throws {
        try await waitUntil("\(count) requests", timeout: timeout, every: .milliseconds(10), context: { "only \(requests) arrived" }) {
            requests >= count
        }
    }

    struct TestServerError: Error { var message: String }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let state: NIOLockedValueBox<State>
        var uri = ""

        init(state: NIOLockedValueBox<State>) { self.state = state }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                uri = head.uri
                state.withLockedValue { $0.lastHeaders = head.headers }
            case .body:
                break
            case .end:
                let document = state.withLockedValue { state -> String? in
                    state.requests += 1
                    return state.documents[uri]
                }
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: "application/json")
                headers.add(name: "Content-Length", value: "\(document?.utf8.count ?? 0)")
                headers.add(name: "Connection", value: "close")
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: document == nil ? .notFound : .ok, headers: headers))), promise: nil)
                if let document {
                    context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: document)))), promise: nil)
                }
                // The client (Connection: close) hangs up once it has the answer.
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}

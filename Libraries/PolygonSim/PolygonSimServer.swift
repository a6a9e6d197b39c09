import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle
import XYCore

/// `xy sim polygon`: a local stand-in for the vendor (Polygon/Massive stocks feed) speaking its
/// WebSocket protocol at `/stocks` and its REST history paths on the same port, with a
/// deterministic market and injectable faults, so xy-realtime's real code path runs in tests.
public struct PolygonSimServer: Service {
    public let feed: SimFeed
    /// REST requests answered so far (aggregates and snapshots), so a test can tell whether a
    /// client asked the vendor or served from its own store.
    public var restRequests: Int { restCount.withLockedValue { $0 } }
    private let restCount = NIOLockedValueBox(0)
    private let application: Application<RouterResponder<BasicWebSocketRequestContext>>

    /// - Parameter onListening: called with the bound port (port 0 picks a free one).
    public init(configuration: PolygonSimConfiguration, logger: Logger, onListening: @escaping @Sendable (Int) async -> Void = { _ in }) {
        let feed = SimFeed(configuration: configuration, logger: logger)
        self.feed = feed
        let sessions = SimSessions(configuration: configuration, feed: feed, logger: logger)
        let rest = SimREST(configuration: configuration, feed: feed)
        let restCount = self.restCount
        let router = Router(context: BasicWebSocketRequestContext.self)
        router.ws("/stocks") { inbound, outbound, _ in
            await sessions.handle(inbound: inbound, outbound: outbound)
        }
        router.get("/v2/aggs/ticker/:ticker/range/:multiplier/:timespan/:from/:to") { request, context -> Response in
            restCount.withLockedValue { $0 += 1 }
            return rest.aggregates(request: request, parameters: context.parameters)
        }
        router.get("/v2/snapshot/locale/us/markets/stocks/tickers") { request, _ -> Response in
            restCount.withLockedValue { $0 += 1 }
            return rest.snapshot(request: request)
        }
        // Not a vendor path: what the market trades now and at what rate, so a test of a
        // subscriber (xy-realtime's upstream interest) can see what the vendor was asked for.
        router.get("/sim/streaming") { _, _ -> Response in
            let symbols = feed.activeSymbols.sorted().map(JSONText.quoted).joined(separator: ",")
            let body = "{\"symbols\":[\(symbols)],\"eventsPerSecond\":\(feed.currentRate)}"
            return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
        }
        router.get("/healthz") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: "{\"status\":\"ready\"}")))
        }
        let webSocket = WebSocketServerConfiguration(maxFrameSize: 1 << 20, autoPing: .enabled(timePeriod: .seconds(30)), closeTimeout: .seconds(2))
        self.application = Application(
            router: router,
            server: .http1WebSocketUpgrade(webSocketRouter: router, configuration: .init(ws: webSocket)),
            configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port), serverName: "xy-sim-polygon"),
            services: [feed],
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? configuration.port) },
            logger: logger
        )
    }

    public func run() async throws {
        try await application.run()
    }
}

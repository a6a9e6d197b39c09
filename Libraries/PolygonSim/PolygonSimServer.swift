import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle

/// `xy sim polygon`: a local stand-in for the vendor (Polygon/Massive stocks feed) speaking its
/// WebSocket protocol at `/stocks` and its REST history paths on the same port, with a
/// deterministic market and injectable faults, so xy-realtime's real code path runs in tests.
public struct PolygonSimServer: Service {
    public let feed: SimFeed
    private let application: Application<RouterResponder<BasicWebSocketRequestContext>>

    /// - Parameter onListening: called with the bound port (port 0 picks a free one).
    public init(configuration: PolygonSimConfiguration, logger: Logger, onListening: @escaping @Sendable (Int) async -> Void = { _ in }) {
        let feed = SimFeed(configuration: configuration, logger: logger)
        self.feed = feed
        let sessions = SimSessions(configuration: configuration, feed: feed, logger: logger)
        let rest = SimREST(configuration: configuration, feed: feed)
        let router = Router(context: BasicWebSocketRequestContext.self)
        router.ws("/stocks") { inbound, outbound, _ in
            await sessions.handle(inbound: inbound, outbound: outbound)
        }
        router.get("/v2/aggs/ticker/:ticker/range/:multiplier/:timespan/:from/:to") { request, context -> Response in
            rest.aggregates(request: request, parameters: context.parameters)
        }
        router.get("/v2/snapshot/locale/us/markets/stocks/tickers") { request, _ -> Response in
            rest.snapshot(request: request)
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

/// The WebSocket side: one task group per connection (reader, sender, timers) around a
/// ``SimConnectionStateMachine``.
final class SimSessions: Sendable {
    private let configuration: PolygonSimConfiguration
    private let feed: SimFeed
    private let logger: Logger
    private let active = NIOLockedValueBox(0)
    private let symbolIndex: [String: Int]

    init(configuration: PolygonSimConfiguration, feed: SimFeed, logger: Logger) {
        self.configuration = configuration
        self.feed = feed
        self.logger = logger
        self.symbolIndex = feed.symbolIndex
    }

    private enum Ending: Sendable {
        case keepGoing
        case close(reason: String)
    }

    func handle(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async {
        let count = active.withLockedValue { value in
            value += 1
            return value
        }
        defer { active.withLockedValue { $0 -= 1 } }
        let configuration = self.configuration
        let machine = NIOLockedValueBox(SimConnectionStateMachine(apiKey: configuration.apiKey, rejectAuth: configuration.rejectAuth, symbolIndex: symbolIndex))
        let overLimit = count > configuration.maxConnections
        let opening = machine.withLockedValue { $0.connected(overLimit: overLimit) }
        guard await perform(opening, outbound) else {
            logger.info("refused connection over the limit", metadata: ["connections": "\(count)"])
            return
        }
        let (clientID, batches) = feed.register()
        defer { feed.unregister(clientID) }
        let authenticatedAt = NIOLockedValueBox<ContinuousClock.Instant?>(nil)

        let reason: String = await withTaskGroup(of: Ending.self) { group in
            group.addTask {
                do {
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        guard case .text(let text) = message else { continue }
                        let action = machine.withLockedValue { $0.received(text: text) }
                        if machine.withLockedValue({ $0.state == .authenticated }) {
                            authenticatedAt.withLockedValue { if $0 == nil { $0 = .now } }
                        }
                        guard await self.perform(action, outbound) else { return .close(reason: "protocol") }
                    }
                } catch {}
                return .close(reason: "client closed")
            }
            group.addTask {
                try? await Task.sleep(for: configuration.authTimeout)
                let action = machine.withLockedValue { $0.authTimerFired() }
                return await self.perform(action, outbound) ? .keepGoing : .close(reason: "auth timeout")
            }
            if let dropEvery = configuration.dropEvery {
                group.addTask {
                    do {
                        try await Task.sleep(for: dropEvery)
                        return .close(reason: "drop-every")
                    } catch {
                        return .keepGoing
                    }
                }
            }
            group.addTask {
                for await batch in batches {
                    guard let since = authenticatedAt.withLockedValue({ $0 }) else { continue }
                    if let stallAfter = configuration.stallAfter, ContinuousClock.now - since >= stallAfter {
                        continue
                    }
                    let subscriptions = machine.withLockedValue { $0.subscriptions }
                    guard !subscriptions.isEmpty else { continue }
                    do {
                        try await self.send(batch, subscriptions: subscriptions, outbound: outbound)
                    } catch {
                        return .close(reason: "write failed")
                    }
                }
                return .close(reason: "feed stopped")
            }
            var reason = "finished"
            for await ending in group {
                if case .close(let why) = ending {
                    reason = why
                    group.cancelAll()
                    break
                }
            }
            return reason
        }
        machine.withLockedValue { $0.closed() }
        logger.info("connection closed", metadata: ["reason": "\(reason)"])
        try? await outbound.close(reason == "drop-every" ? .goingAway : .normalClosure, reason: reason)
    }

    /// Sends the frames of an action; false when the connection is to close.
    private func perform(_ action: SimConnectionStateMachine.Action, _ outbound: WebSocketOutboundWriter) async -> Bool {
        for text in action.send {
            do {
                try await outbound.write(.text(text))
            } catch {
                return false
            }
        }
        return !action.close
    }

    /// The subscribed events of one batch as JSON-array text frames of at most `maxEventsPerFrame`.
    private func send(_ batch: SimFeed.Batch, subscriptions: SimSubscriptions, outbound: WebSocketOutboundWriter) async throws {
        var frame = ByteBuffer()
        var inFrame = 0
        for entry in batch.entries {
            let wanted: Bool
            if entry.channel == SimFeed.injected {
                wanted = true
            } else if let channel = SimChannel(rawValue: entry.channel) {
                wanted = subscriptions.matches(channel: channel, symbolIndex: entry.symbolIndex)
            } else {
                wanted = false
            }
            guard wanted else { continue }
            frame.writeInteger(inFrame == 0 ? UInt8(ascii: "[") : UInt8(ascii: ","))
            batch.bytes.withUnsafeBufferPointer { pointer in
                _ = frame.writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: pointer[entry.start..<entry.end])))
            }
            inFrame += 1
            if inFrame >= configuration.maxEventsPerFrame {
                frame.writeInteger(UInt8(ascii: "]"))
                try await outbound.write(.custom(.init(fin: true, opcode: .text, data: frame)))
                frame = ByteBuffer()
                inFrame = 0
            }
        }
        if inFrame > 0 {
            frame.writeInteger(UInt8(ascii: "]"))
            try await outbound.write(.custom(.init(fin: true, opcode: .text, data: frame)))
        }
    }
}

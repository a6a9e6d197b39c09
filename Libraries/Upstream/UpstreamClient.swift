import Atomics
import Logging
import NATS
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOWebSocket
import ServiceLifecycle
import WSClient
import XYCore
import XYService

/// xy-realtime's upstream: holds the vendor WebSocket, drives the
/// ``UpstreamConnectionStateMachine`` (authenticate, subscribe, reconnect with backoff), watches
/// for silence, and feeds every message to a ``MarketEventPublisher``.
///
/// Every decision of the machine hands its actions to the connection's one writer in the same
/// critical section, so subscribe and unsubscribe reach the vendor in the order they were decided,
/// whichever tasks asked. A `Service`: on graceful shutdown it closes the vendor connection and
/// stops reconnecting.
public final class UpstreamClient: Service, Sendable {
    typealias Action = UpstreamConnectionStateMachine.Action

    private let configuration: UpstreamConfiguration
    private let nats: NATSClient
    private let metrics: UpstreamMetrics
    private let readiness: ReadinessState
    private let logger: Logger
    private let link: NIOLockedValueBox<Link>
    /// Nanoseconds (monotonic) when the last frame arrived.
    private let lastFrame = ManagedAtomic<Int64>(0)
    private let eventLoopGroup: any EventLoopGroup
    /// Monotonic nanoseconds for lease lifetimes and the grace period; injectable for tests.
    private let clock: @Sendable () -> Int64

    /// The machine and the queue of the connection's writer, changed together under one lock.
    private struct Link: Sendable {
        var machine: UpstreamConnectionStateMachine
        /// The open connection's writer queue; nil between connections (nothing can be written then).
        var outbox: AsyncStream<Action>.Continuation?
    }

    public init(
        configuration: UpstreamConfiguration, nats: NATSClient, metrics: UpstreamMetrics, readiness: ReadinessState, logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        clock: @escaping @Sendable () -> Int64 = { Int64(XYCore.monotonicNanoseconds()) }
    ) {
        self.clock = clock
        self.configuration = configuration
        self.nats = nats
        self.metrics = metrics
        self.readiness = readiness
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
        self.link = NIOLockedValueBox(Link(machine: UpstreamConnectionStateMachine(configuration: configuration)))
        readiness.markNotReady("upstream", reason: "not connected yet", code: .upstreamDisconnected)
        readiness.setDetail("upstream", "connecting")
    }

    /// The current interest set (symbols, or wildcard).
    public var interest: UpstreamInterest { link.withLockedValue { $0.machine.interest } }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await self.connectLoop()
        }
        await decide { $0.stop() }
        markDown(reason: "stopped")
    }

    /// Adds symbols to the vendor subscription (request on `xy.ctl.upstream.subscribe`); the
    /// subscribe message is queued for the vendor, behind every message decided before it.
    public func subscribe(_ symbols: [String]) async -> UpstreamInterest.Change {
        let change = await decide { $0.subscribe(symbols) }
        if !change.rejected.isEmpty {
            logger.warning("subscribe request refused some symbols", metadata: ["code": "\(XYErrorCode.upstreamInterestLimit)", "rejected": "\(change.rejected.prefix(20).joined(separator: ","))"])
        }
        return change
    }

    /// Drops symbols from the vendor subscription (request on `xy.ctl.upstream.unsubscribe`).
    public func unsubscribe(_ symbols: [String]) async -> UpstreamInterest.Change {
        await decide { $0.unsubscribe(symbols, now: clock()) }
    }

    /// A gateway's lease (`xy.ctl.lease.<instance>`): the vendor subscription follows it at once.
    /// Nil when it was older than the lease held and dropped.
    public func receiveLease(_ lease: UpstreamLeaseBook.Lease) async -> UpstreamConnectionStateMachine.LeaseOutcome? {
        let now = clock()
        return await decide { $0.leaseReceived(lease, now: now) }
    }

    /// Lapses the leases not renewed and reclaims the symbols nobody has leased for the grace period.
    public func expireLeases() async -> UpstreamConnectionStateMachine.LeaseOutcome {
        let now = clock()
        return await decide { $0.leaseClockTicked(now: now) }
    }

    /// Live leases, distinct leased symbols, and leased symbols refused over the quota, for metrics.
    public var leaseCounts: (instances: Int, leased: Int, refused: Int) {
        link.withLockedValue { ($0.machine.leases.instanceCount, $0.machine.leases.leasedCount, $0.machine.leases.refused.count) }
    }

    /// One decision of the machine: its actions go to the connection's writer queue in the same
    /// critical section, so the queue holds them in decision order. Without a connection the
    /// actions that need none (logs, readiness) run here and writes are dropped (the next
    /// connection subscribes the whole interest set).
    private func decide<Result>(_ decision: (inout UpstreamConnectionStateMachine) -> (Result, [Action])) async -> Result {
        let (result, unqueued) = link.withLockedValue { link -> (Result, [Action]) in
            let (result, actions) = decision(&link.machine)
            guard let outbox = link.outbox else { return (result, actions) }
            for action in actions { outbox.yield(action) }
            return (result, [])
        }
        for action in unqueued { _ = await perform(action, writer: nil) }
        return result
    }

    private func decide(_ decision: (inout UpstreamConnectionStateMachine) -> [Action]) async {
        await decide { machine in ((), decision(&machine)) }
    }

    private func connectLoop() async {
        var random = SystemRandomNumberGenerator()
        while !Task.isCancelled {
            link.withLockedValue { $0.machine.connecting() }
            let opened = ManagedAtomic(false)
            var closeError: String?
            do {
                var wsConfiguration = WebSocketClientConfiguration(
                    // One frame may not exceed what a whole message may.
                    maxFrameSize: configuration.maxMessageBytes,
                    closeTimeout: .seconds(1),
                    autoPing: .enabled(timePeriod: configuration.pingInterval)
                )
                wsConfiguration.validateUTF8 = false
                let closeFrame = try await WebSocketClient.connect(
                    url: configuration.url,
                    configuration: wsConfiguration,
                    eventLoopGroup: eventLoopGroup,
                    logger: logger
                ) { inbound, outbound, _ in
                    opened.store(true, ordering: .relaxed)
                    await self.session(inbound: inbound, outbound: outbound)
                }
                if let closeFrame {
                    closeError = "closed by the vendor: \(closeFrame.closeCode)\(closeFrame.reason.map { " \($0)" } ?? "")"
                }
            } catch {
                closeError = "\(error)"
            }
            markDown(reason: "disconnected")
            guard !Task.isCancelled else { return }
            let plan = link.withLockedValue { $0.machine.connectionClosed(opened: opened.load(ordering: .relaxed), random: Double.random(in: 0..<1, using: &random)) }
            guard let plan else { return }
            metrics.reconnects.increment()
            let delayMilliseconds = TimeAmount(plan.delay).nanoseconds / 1_000_000
            let metadata: Logger.Metadata = [
                "code": "\(plan.failure.code)", "failure": "\(plan.failure)", "retry_in_ms": "\(delayMilliseconds)",
                "error": "\(closeError ?? "none")", "url": "\(configuration.url)",
            ]
            switch plan.failure {
            case .authFailed, .maxConnections:
                logger.error("upstream refused us; retrying slowly", metadata: metadata)
            case .connectFailed, .closed, .authTimeout, .silent, .messageTooLarge:
                logger.warning("upstream connection lost; reconnecting", metadata: metadata)
            }
            try? await Task.sleep(for: plan.delay)
        }
    }

    /// How one connection's session ended.
    private enum SessionEnd: Sendable {
        /// The reader saw the inbound end (or a message too large): the writer sends what it still holds.
        case readerEnded
        /// The writer sent a close: the reader need not wait for the vendor's answer.
        case closeSent
    }

    private func session(inbound: WebSocketInboundStream, outbound writer: WebSocketOutboundWriter) async {
        let (queue, outbox) = AsyncStream.makeStream(of: Action.self)
        link.withLockedValue { link in
            link.machine.connectionOpened()
            link.outbox = outbox
        }
        readiness.setDetail("upstream", "authenticating")
        lastFrame.store(Self.monotonicNanoseconds(), ordering: .relaxed)
        await withTaskGroup(of: SessionEnd.self) { group in
            // The connection's one writer: actions leave in the order the machine decided them.
            group.addTask {
                for await action in queue {
                    if await self.perform(action, writer: writer) { return .closeSent }
                }
                return .readerEnded
            }
            group.addTask {
                await withTaskGroup(of: Void.self) { reading in
                    reading.addTask { await self.watchSilence() }
                    await self.readMessages(inbound)
                    reading.cancelAll()
                }
                return .readerEnded
            }
            switch await group.next() {
            case .closeSent:
                group.cancelAll()
            case .readerEnded, nil:
                // Nothing more is decided for this connection; the writer drains what it holds
                // (the close of a message too large) and ends.
                link.withLockedValue { $0.outbox = nil }
                outbox.finish()
            }
        }
        link.withLockedValue { $0.outbox = nil }
        outbox.finish()
    }

    /// Decides a close when no frame arrives for the silence timeout while the connection should
    /// be talking; returns once it has, or when cancelled.
    private func watchSilence() async {
        let silence = configuration.silenceTimeout
        let check = max(silence / 4, .milliseconds(50))
        while !Task.isCancelled {
            do { try await Task.sleep(for: check) } catch { return }
            let idle = Self.monotonicNanoseconds() - lastFrame.load(ordering: .relaxed)
            guard idle > TimeAmount(silence).nanoseconds else { continue }
            let closing = await decide { machine -> (Bool, [Action]) in
                let actions = machine.silenceDetected()
                return (!actions.isEmpty, actions)
            }
            if closing {
                logger.warning("no data from the vendor; recycling the connection", metadata: ["code": "\(XYErrorCode.upstreamSilent)", "silent_ms": "\(idle / 1_000_000)"])
                return
            }
        }
    }

    /// Reads whole messages, their fragments reassembled up to `maxMessageBytes`; a bigger one
    /// ends the read and has the machine close the connection (1009, XYW109).
    private func readMessages(_ inbound: WebSocketInboundStream) async {
        var publisher = MarketEventPublisher(client: nats, source: configuration.source, metrics: metrics, logger: logger)
        let limit = configuration.maxMessageBytes
        do {
            for try await message in inbound.messages(maxSize: limit) {
                lastFrame.store(Self.monotonicNanoseconds(), ordering: .relaxed)
                let complete: ByteBuffer
                switch message {
                case .text(let text): complete = ByteBuffer(string: text)
                case .binary(let data): complete = data
                }
                let statuses = publisher.process(frame: complete, receiveTimeNanoseconds: wallClockNanoseconds())
                // Paced by NATS: when the bus falls behind, this task suspends (and stops reading the
                // vendor) instead of buffering without bound; a plain publish in a task never waits.
                await nats.waitUntilWritable()
                for status in statuses {
                    await decide { $0.statusReceived(status: status.status, message: status.message) }
                }
            }
        } catch where Self.isMessageTooLarge(error) {
            metrics.tooLarge.increment()
            await decide { $0.messageTooLarge(limit: limit) }
        } catch {
            logger.debug("upstream read ended", metadata: ["error": "\(error)"])
        }
    }

    /// Whether `error`, thrown while reading messages, is a message over the cap: one frame over
    /// `maxFrameSize` (NIO's decoder), or fragments over `messages(maxSize:)` (swift-websocket's
    /// error type is package-internal, so the close code it carries is what tells).
    static func isMessageTooLarge(_ error: any Error) -> Bool {
        if let error = error as? NIOWebSocketError, error == .invalidFrameLength { return true }
        return Mirror(reflecting: error).children.contains { ($0.value as? WebSocketErrorCode) == .messageTooLarge }
    }

    /// Does one action; true when it closed the connection (nothing more is written after it).
    /// `writer` is nil between connections, when writes have nowhere to go.
    private func perform(_ action: Action, writer: WebSocketOutboundWriter?) async -> Bool {
        switch action {
        case .authenticate:
            // The key goes into this one frame and nowhere else.
            try? await writer?.write(.text("{\"action\":\"auth\",\"params\":\(JSONText.quoted(configuration.apiKey))}"))
        case .send(let text):
            do {
                try await writer?.write(.text(text))
            } catch {
                logger.debug("upstream write failed", metadata: ["error": "\(error)"])
            }
        case .close(let failure):
            let code: WebSocketErrorCode
            switch failure {
            case .messageTooLarge: code = .messageTooLarge
            case .connectFailed, .closed, .authFailed, .authTimeout, .maxConnections, .silent: code = .goingAway
            }
            try? await writer?.close(code, reason: "\(failure)")
            return writer != nil
        case .markUp:
            metrics.connected.record(1)
            readiness.markReady("upstream")
            readiness.setDetail("upstream", "streaming")
            logger.info("upstream authenticated and subscribed", metadata: [
                "url": "\(configuration.url)", "symbols": "\(interest.isWildcard ? "*" : String(interest.symbols.count))",
                "channels": "\(configuration.channels.joined(separator: ","))",
            ])
        case .report(let code, let message):
            logger.error("\(message)", metadata: ["code": "\(code)", "url": "\(configuration.url)"])
        }
        return false
    }

    private func markDown(reason: String) {
        metrics.connected.record(0)
        readiness.markNotReady("upstream", reason: reason, code: .upstreamDisconnected)
        readiness.setDetail("upstream", reason)
    }

    static func monotonicNanoseconds() -> Int64 {
        Int64(XYCore.monotonicNanoseconds())
    }
}

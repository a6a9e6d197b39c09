import Atomics
import Logging
import NATS
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle
import WSClient
import XYService

/// xy-realtime's upstream: holds the vendor WebSocket, drives the
/// ``UpstreamConnectionStateMachine`` (authenticate, subscribe, reconnect with backoff), watches
/// for silence, and feeds every frame to a ``MarketEventPublisher``.
///
/// A `Service`: on graceful shutdown it closes the vendor connection and stops reconnecting.
public final class UpstreamClient: Service, Sendable {
    private let configuration: UpstreamConfiguration
    private let nats: NATSClient
    private let metrics: UpstreamMetrics
    private let readiness: ReadinessState
    private let logger: Logger
    private let machine: NIOLockedValueBox<UpstreamConnectionStateMachine>
    private let outbound = NIOLockedValueBox<WebSocketOutboundWriter?>(nil)
    /// Nanoseconds (monotonic) when the last frame arrived.
    private let lastFrame = ManagedAtomic<Int64>(0)
    private let eventLoopGroup: any EventLoopGroup

    public init(
        configuration: UpstreamConfiguration, nats: NATSClient, metrics: UpstreamMetrics, readiness: ReadinessState, logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.configuration = configuration
        self.nats = nats
        self.metrics = metrics
        self.readiness = readiness
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
        self.machine = NIOLockedValueBox(UpstreamConnectionStateMachine(configuration: configuration))
        readiness.markNotReady("upstream", reason: "not connected yet", code: .upstreamDisconnected)
        readiness.setDetail("upstream", "connecting")
    }

    /// The current interest set (symbols, or wildcard).
    public var interest: UpstreamInterest { machine.withLockedValue { $0.interest } }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await self.connectLoop()
        }
        let actions = machine.withLockedValue { $0.stop() }
        await perform(actions)
        markDown(reason: "stopped")
    }

    /// Adds symbols to the vendor subscription (request on `xy.ctl.upstream.subscribe`).
    public func subscribe(_ symbols: [String]) async -> UpstreamInterest.Change {
        let (change, actions) = machine.withLockedValue { $0.subscribe(symbols) }
        await perform(actions)
        if !change.rejected.isEmpty {
            logger.warning("subscribe request refused some symbols", metadata: ["code": "\(XYErrorCode.upstreamInterestLimit)", "rejected": "\(change.rejected.prefix(20).joined(separator: ","))"])
        }
        return change
    }

    /// Drops symbols from the vendor subscription (request on `xy.ctl.upstream.unsubscribe`).
    public func unsubscribe(_ symbols: [String]) async -> UpstreamInterest.Change {
        let (change, actions) = machine.withLockedValue { $0.unsubscribe(symbols) }
        await perform(actions)
        return change
    }

    private func connectLoop() async {
        var random = SystemRandomNumberGenerator()
        while !Task.isCancelled {
            machine.withLockedValue { $0.connecting() }
            let opened = ManagedAtomic(false)
            var closeError: String?
            do {
                var wsConfiguration = WebSocketClientConfiguration(
                    maxFrameSize: 16 << 20,
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
            outbound.withLockedValue { $0 = nil }
            markDown(reason: "disconnected")
            guard !Task.isCancelled else { return }
            guard let plan = machine.withLockedValue({ $0.connectionClosed(opened: opened.load(ordering: .relaxed), random: Double.random(in: 0..<1, using: &random)) }) else { return }
            metrics.reconnects.increment()
            let delayMilliseconds = plan.delay.components.seconds * 1000 + plan.delay.components.attoseconds / 1_000_000_000_000_000
            let metadata: Logger.Metadata = [
                "code": "\(plan.failure.code)", "failure": "\(plan.failure)", "retry_in_ms": "\(delayMilliseconds)",
                "error": "\(closeError ?? "none")", "url": "\(configuration.url)",
            ]
            switch plan.failure {
            case .authFailed, .maxConnections:
                logger.error("upstream refused us; retrying slowly", metadata: metadata)
            case .connectFailed, .closed, .authTimeout, .silent:
                logger.warning("upstream connection lost; reconnecting", metadata: metadata)
            }
            try? await Task.sleep(for: plan.delay)
        }
    }

    private func session(inbound: WebSocketInboundStream, outbound writer: WebSocketOutboundWriter) async {
        outbound.withLockedValue { $0 = writer }
        machine.withLockedValue { $0.connectionOpened() }
        readiness.setDetail("upstream", "authenticating")
        lastFrame.store(Self.monotonicNanoseconds(), ordering: .relaxed)
        let silence = configuration.silenceTimeout
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await self.readFrames(inbound)
            }
            group.addTask {
                let check = max(silence / 4, .milliseconds(50))
                while !Task.isCancelled {
                    do { try await Task.sleep(for: check) } catch { return }
                    let idle = Self.monotonicNanoseconds() - self.lastFrame.load(ordering: .relaxed)
                    guard idle > silence.nanoseconds else { continue }
                    let actions = self.machine.withLockedValue { $0.silenceDetected() }
                    if !actions.isEmpty {
                        self.logger.warning("no data from the vendor; recycling the connection", metadata: ["code": "\(XYErrorCode.upstreamSilent)", "silent_ms": "\(idle / 1_000_000)"])
                        await self.perform(actions)
                        return
                    }
                }
            }
            await group.next()
            group.cancelAll()
        }
    }

    private func readFrames(_ inbound: WebSocketInboundStream) async {
        var publisher = MarketEventPublisher(client: nats, source: configuration.source, metrics: metrics, logger: logger)
        var pending: ByteBuffer?
        do {
            for try await frame in inbound {
                let now = Self.monotonicNanoseconds()
                lastFrame.store(now, ordering: .relaxed)
                let complete: ByteBuffer
                switch frame.opcode {
                case .text, .binary:
                    if frame.fin {
                        complete = frame.data
                    } else {
                        pending = frame.data
                        continue
                    }
                case .continuation:
                    guard var partial = pending else { continue }
                    var data = frame.data
                    partial.writeBuffer(&data)
                    guard frame.fin else {
                        pending = partial
                        continue
                    }
                    pending = nil
                    complete = partial
                }
                let statuses = publisher.process(frame: complete, receiveTimeNanoseconds: wallClockNanoseconds())
                // Paced by NATS: when the bus falls behind, this task suspends (and stops reading the
                // vendor) instead of buffering without bound; a plain publish in a task never waits.
                await nats.waitUntilWritable()
                for status in statuses {
                    let actions = machine.withLockedValue { $0.statusReceived(status: status.status, message: status.message) }
                    await perform(actions)
                }
            }
        } catch {
            logger.debug("upstream read ended", metadata: ["error": "\(error)"])
        }
    }

    private func perform(_ actions: [UpstreamConnectionStateMachine.Action]) async {
        for action in actions {
            let writer = outbound.withLockedValue { $0 }
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
                try? await writer?.close(.goingAway, reason: "\(failure)")
            case .markUp:
                metrics.connected.record(1)
                readiness.markReady("upstream")
                let interest = machine.withLockedValue { $0.interest }
                readiness.setDetail("upstream", "streaming")
                logger.info("upstream authenticated and subscribed", metadata: [
                    "url": "\(configuration.url)", "symbols": "\(interest.isWildcard ? "*" : String(interest.symbols.count))",
                    "channels": "\(configuration.channels.joined(separator: ","))",
                ])
            case .report(let code, let message):
                logger.error("\(message)", metadata: ["code": "\(code)", "url": "\(configuration.url)"])
            }
        }
    }

    private func markDown(reason: String) {
        metrics.connected.record(0)
        readiness.markNotReady("upstream", reason: reason, code: .upstreamDisconnected)
        readiness.setDetail("upstream", reason)
    }

    static func monotonicNanoseconds() -> Int64 {
        Int64(MonotonicClock.nanoseconds())
    }
}

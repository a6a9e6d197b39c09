import Logging
import Metrics
import NATS
import ServiceLifecycle
import XYCore

/// Owns a service's NATS connection for the life of the process: turns connection events into
/// readiness (`nats` condition, code XYW004), logs and `xy_nats_reconnects_total`, and on graceful
/// shutdown drains the connection (bounded) so in-flight messages are not lost.
///
/// Put it first in the `ServiceGroup`: services stop in reverse order, so it drains last.
public struct NATSConnectionService: Service {
    public let client: NATSClient
    private let readiness: ReadinessState
    private let logger: Logger
    private let drainTimeout: Duration
    private let onEvent: @Sendable (NATSConnectionEvent) -> Void

    /// `onEvent` sees every connection event after readiness is updated: the client's event
    /// stream has one consumer, this service, so a service that reacts to NATS going away (the
    /// gateway telling its browsers) hooks in here.
    public init(
        client: NATSClient, readiness: ReadinessState, logger: Logger, drainTimeout: Duration,
        onEvent: @escaping @Sendable (NATSConnectionEvent) -> Void = { _ in }
    ) {
        self.client = client
        self.readiness = readiness
        self.logger = logger
        self.drainTimeout = drainTimeout
        self.onEvent = onEvent
        if client.isConnected {
            readiness.markReady("nats")
            readiness.setDetail("nats", "connected")
        }
    }

    public func run() async throws {
        let reconnects = Counter(label: "xy_nats_reconnects_total")
        let connected = Gauge(label: "xy_nats_connected")
        connected.record(client.isConnected ? 1 : 0)
        await cancelWhenGracefulShutdown {
            for await event in self.client.events {
                switch event {
                case .connected(let server), .reconnected(let server):
                    if case .reconnected = event { reconnects.increment() }
                    connected.record(1)
                    self.readiness.markReady("nats")
                    self.readiness.setDetail("nats", "connected")
                    self.logger.info("NATS connected", metadata: ["server": "\(server)"])
                case .disconnected(let reason):
                    connected.record(0)
                    self.readiness.markNotReady("nats", reason: "disconnected", code: .natsUnavailable)
                    self.readiness.setDetail("nats", "disconnected")
                    self.logger.warning("NATS disconnected", metadata: ["code": "\(XYErrorCode.natsUnavailable)", "reason": "\(reason)"])
                case .closed(let reason):
                    connected.record(0)
                    self.readiness.markNotReady("nats", reason: "closed", code: .natsUnavailable)
                    self.logger.warning("NATS connection closed", metadata: ["code": "\(XYErrorCode.natsUnavailable)", "reason": "\(reason ?? "")"])
                case .lameDuckMode(let server):
                    self.logger.notice("NATS server entered lame duck mode", metadata: ["server": "\(server)"])
                case .slowConsumer(_, let subject):
                    self.logger.warning("NATS slow consumer", metadata: ["code": "\(XYErrorCode.backpressure)", "subject": "\(subject)"])
                case .serverError(let text):
                    self.logger.error("NATS server error", metadata: ["code": "\(XYErrorCode.natsUnavailable)", "error": "\(text)"])
                }
                self.onEvent(event)
            }
        }
        readiness.markStopping()
        let seconds = drainTimeout.components.seconds
        do {
            try await client.drain(timeout: .seconds(max(1, seconds)))
        } catch {
            logger.warning("NATS drain did not finish; closing", metadata: ["code": "\(XYErrorCode.natsUnavailable)", "error": "\(error)"])
            await client.close()
        }
    }
}

import Logging
import NATS
import ServiceLifecycle
import SwiftProtobuf
import XYContracts
import XYCore

/// Publishes one `xy.exec.v1.Health` on `xy.exec.health` every interval, so the admin page sees
/// which instances run and whether they are ready; a last `STOPPING` beat goes out on shutdown.
public struct HealthHeartbeat: Service {
    private let client: NATSClient
    private let serviceName: String
    private let instance: String
    private let version: String
    private let interval: Duration
    private let readiness: ReadinessState
    private let logger: Logger
    private let startedNanoseconds: Int64

    public init(client: NATSClient, serviceName: String, instance: String, version: String, interval: Duration, readiness: ReadinessState, logger: Logger) {
        self.client = client
        self.serviceName = serviceName
        self.instance = instance
        self.version = version
        self.interval = interval
        self.readiness = readiness
        self.logger = logger
        self.startedNanoseconds = wallClockNanoseconds()
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                self.beat(stopping: false)
                try? await Task.sleep(for: self.interval)
            }
        }
        beat(stopping: true)
    }

    /// The heartbeat as it would be sent now.
    public func makeHealth(stopping: Bool) -> Xy_Exec_V1_Health {
        var health = Xy_Exec_V1_Health()
        health.service = serviceName
        health.instance = instance
        health.version = version
        let now = wallClockNanoseconds()
        health.timeNs = now
        health.uptimeNs = now - startedNanoseconds
        health.intervalNs = interval.components.seconds * 1_000_000_000 + interval.components.attoseconds / 1_000_000_000
        if stopping || readiness.isStopping {
            health.status = .stopping
        } else if readiness.isReady {
            health.status = .ready
        } else {
            health.status = .degraded
        }
        health.details = readiness.details
        for problem in readiness.problems {
            health.details[problem.condition] = problem.reason
        }
        return health
    }

    private func beat(stopping: Bool) {
        guard client.isConnected else { return }
        do {
            let bytes: [UInt8] = try makeHealth(stopping: stopping).serializedBytes()
            var headers = NATSHeaders()
            headers.append(Xy_Exec_V1_Health.protoMessageName, for: Subjects.schemaHeader)
            try client.publish(Subjects.health, bytes: bytes, headers: headers)
        } catch {
            logger.debug("heartbeat not sent", metadata: ["code": "\(XYErrorCode.natsUnavailable)", "error": "\(error)"])
        }
    }
}

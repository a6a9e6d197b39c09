import Logging
import NATS
import NIOCore
import ServiceLifecycle
import SwiftProtobuf
import XYContracts
import XYCore

/// Leases the symbols a gateway's clients watch to xy-realtime: every interval it publishes the
/// whole current set as one `xy.ctl.v1.SymbolLease` on `xy.ctl.lease.<instance>`, valid for
/// `expiryIntervals` intervals, so a gateway that dies stops renewing and its symbols lapse on
/// their own; on graceful shutdown it sends one last lease with no symbols, releasing them at once.
public struct SymbolLeaseAnnouncer: Service {
    private let nats: NATSClient
    private let instance: String
    private let subject: String
    private let interval: Duration
    private let expiryIntervals: Int
    private let symbols: @Sendable () -> [String]
    private let wallClock: @Sendable () -> Int64
    private let logger: Logger

    /// Throws when `instance` cannot be a subject token (letters, digits, `_`, `-`).
    public init(
        nats: NATSClient, instance: String, interval: Duration = .seconds(10), expiryIntervals: Int = 3, logger: Logger,
        wallClock: @escaping @Sendable () -> Int64 = { wallClockNanoseconds() },
        symbols: @escaping @Sendable () -> [String]
    ) throws(SubjectTokenError) {
        self.nats = nats
        self.instance = instance
        self.subject = try Subjects.lease(instance: instance)
        self.interval = interval
        self.expiryIntervals = max(1, expiryIntervals)
        self.symbols = symbols
        self.wallClock = wallClock
        self.logger = logger
    }

    public func run() async throws {
        let renewals = await cancelWhenGracefulShutdown { () async -> UInt64 in
            var revision: UInt64 = 0
            while !Task.isCancelled {
                revision += 1
                publish(symbols(), revision: revision, lifetime: interval * expiryIntervals)
                do { try await Task.sleep(for: interval) } catch { break }
            }
            return revision
        }
        publish([], revision: renewals + 1, lifetime: .zero)
        try? await nats.flush()
    }

    /// One lease: the set sorted and without repeats, so equal sets read the same on the wire.
    private func publish(_ current: [String], revision: UInt64, lifetime: Duration) {
        let issuedAt = wallClock()
        let parts = lifetime.components
        var lease = Xy_Ctl_V1_SymbolLease()
        lease.instance = instance
        lease.symbols = Array(Set(current)).sorted()
        lease.issuedAtNs = issuedAt
        lease.expiresAtNs = issuedAt + parts.seconds * 1_000_000_000 + parts.attoseconds / 1_000_000_000
        lease.revision = revision
        do {
            var headers = NATSHeaders()
            headers.append(Xy_Ctl_V1_SymbolLease.protoMessageName, for: Subjects.schemaHeader)
            try nats.publish(subject, bytes: try lease.serializedBytes(), headers: headers)
        } catch {
            logger.warning("symbol lease not published", metadata: ["code": "\(XYErrorCode.natsUnavailable)", "error": "\(error)"])
        }
    }
}

import Logging
import NATS
import NIOCore
import ServiceLifecycle
import SwiftProtobuf
import XYContracts
import XYCore
import XYService

/// Follows the gateways' leases (`xy.ctl.lease.<instance>`, one `SymbolLease` each) into the vendor
/// subscription, lapses those not renewed, reclaims symbols after the grace period, and tells what
/// changed on `xy.ctl.upstream.changed` (one `UpstreamChange`). The decisions are the connection
/// state machine's (``UpstreamClient/receiveLease(_:)``); this service only does the I/O.
public struct UpstreamLeaseService: Service {
    private let nats: NATSClient
    private let upstream: UpstreamClient
    private let metrics: UpstreamMetrics
    private let readiness: ReadinessState
    private let instance: String
    private let checkInterval: Duration
    private let logger: Logger
    private let wallClock: @Sendable () -> Int64

    /// `checkInterval` is how often leases are lapsed and the grace period checked; by default a
    /// quarter of the grace period, between 50 ms and 1 s.
    public init(
        nats: NATSClient, upstream: UpstreamClient, metrics: UpstreamMetrics, readiness: ReadinessState, instance: String,
        grace: Duration, checkInterval: Duration? = nil, logger: Logger,
        wallClock: @escaping @Sendable () -> Int64 = { wallClockNanoseconds() }
    ) {
        self.nats = nats
        self.upstream = upstream
        self.metrics = metrics
        self.readiness = readiness
        self.instance = instance
        self.checkInterval = checkInterval ?? min(max(grace / 4, .milliseconds(50)), .seconds(1))
        self.logger = logger
        self.wallClock = wallClock
        report()
    }

    public func run() async throws {
        let subscription = try nats.subscribe(Subjects.allLeases)
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.receive(subscription) }
                group.addTask { await self.tick() }
            }
        }
        try? subscription.unsubscribe()
    }

    private func receive(_ subscription: NATSSubscription) async {
        do {
            for try await message in subscription {
                guard let lease = Self.lease(from: message) else {
                    metrics.leaseMalformed.increment()
                    logger.warning("lease dropped", metadata: ["code": "\(XYErrorCode.upstreamLeaseMalformed)", "subject": "\(message.subject.prefix(128))"])
                    continue
                }
                if let outcome = await upstream.receiveLease(lease) {
                    publish(outcome)
                }
                report()
            }
        } catch {
            logger.warning("lease subscription ended", metadata: ["error": "\(error)"])
        }
    }

    private func tick() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: checkInterval) } catch { return }
            publish(await upstream.expireLeases())
            report()
        }
    }

    /// Most refused symbols one `UpstreamChange` lists (the contract's bound).
    static let refusedListed = 1000

    /// A lease from a message: a `SymbolLease` whose instance is its subject's last token; nil otherwise.
    static func lease(from message: NATSMessage) -> UpstreamLeaseBook.Lease? {
        guard message.subject.hasPrefix(Subjects.leasePrefix),
              let decoded = try? Xy_Ctl_V1_SymbolLease(serializedBytes: Array(message.payload.readableBytesView)),
              !decoded.instance.isEmpty,
              message.subject.dropFirst(Subjects.leasePrefix.count) == decoded.instance
        else { return nil }
        let (lifetime, overflow) = decoded.expiresAtNs.subtractingReportingOverflow(decoded.issuedAtNs)
        return UpstreamLeaseBook.Lease(
            instance: decoded.instance, symbols: decoded.symbols, lifetimeNanoseconds: overflow ? 0 : lifetime,
            issuedAtNanoseconds: decoded.issuedAtNs, revision: decoded.revision)
    }

    /// Publishes what a lease decision changed, when it changed anything, and counts the reclaimed symbols.
    private func publish(_ outcome: UpstreamConnectionStateMachine.LeaseOutcome) {
        for instance in outcome.lapsed {
            logger.warning("a gateway stopped renewing its lease; its symbols are released", metadata: ["instance": "\(instance.prefix(64))"])
        }
        guard outcome.changed else { return }
        metrics.reclaimedSymbols.increment(by: outcome.removed.count)
        let interest = upstream.interest
        var change = Xy_Ctl_V1_UpstreamChange()
        change.added = outcome.added
        change.removed = outcome.removed
        // Bounded, so the message stays far below NATS's payload limit whatever gateways lease.
        change.refused = Array(outcome.refused.prefix(Self.refusedListed))
        change.refusedCount = UInt32(clamping: outcome.refused.count)
        change.streamed = UInt32(clamping: interest.symbols.count)
        change.quota = UInt32(clamping: interest.maximum)
        change.timeNs = wallClock()
        change.instance = instance
        if !outcome.refused.isEmpty {
            logger.warning("leased symbols over the quota", metadata: [
                "code": "\(XYErrorCode.upstreamInterestLimit)", "refused": "\(outcome.refused.prefix(20).joined(separator: ","))", "max": "\(interest.maximum)",
            ])
        }
        logger.info("upstream set follows the leases", metadata: [
            "added": "\(outcome.added.count)", "removed": "\(outcome.removed.count)", "refused": "\(outcome.refused.count)", "streamed": "\(interest.symbols.count)",
        ])
        do {
            var headers = NATSHeaders()
            headers.append(Xy_Ctl_V1_UpstreamChange.protoMessageName, for: Subjects.schemaHeader)
            try nats.publish(Subjects.upstreamChanged, bytes: try change.serializedBytes(), headers: headers)
        } catch {
            logger.warning("upstream change not published", metadata: ["code": "\(XYErrorCode.natsUnavailable)", "error": "\(error)"])
        }
    }

    /// The gauges and the `/healthz` details (`upstream_symbols`, `upstream_quota`) as they are now.
    private func report() {
        let interest = upstream.interest
        let counts = upstream.leaseCounts
        metrics.leases.record(counts.instances)
        metrics.leasedSymbols.record(counts.leased)
        metrics.streamedSymbols.record(interest.isWildcard ? 0 : interest.symbols.count)
        metrics.refusedSymbols.record(counts.refused)
        readiness.setDetail("upstream_symbols", interest.isWildcard ? "*" : String(interest.symbols.count))
        readiness.setDetail("upstream_quota", String(interest.maximum))
    }
}

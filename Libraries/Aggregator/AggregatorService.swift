import Logging
import NATS
import ServiceLifecycle
import XYContracts
import XYCore
import XYService

/// xy-aggregator as one `Service`: creates or updates `XY_TICKS`, `XY_BARS` and `XY_BAR_STATE`,
/// rebuilds every owned group from its last snapshot and the batches after it (and its bars from
/// the last checkpoint), then runs the
/// ``AggregatorEngine`` until a graceful shutdown, which publishes a last batch and snapshot.
///
/// Readiness condition `jetstream`: unmet until the streams exist and the groups are rebuilt, and
/// while stores fail.
public struct AggregatorService: Service {
    private let configuration: AggregatorConfiguration
    private let nats: NATSClient
    private let readiness: ReadinessState
    private let logger: Logger
    private let metrics: AggregatorMetrics
    private let retryDelay: Duration
    /// Called once the engine runs, with what each group was rebuilt from (tests).
    private let onStart: @Sendable (AggregatorEngine, [String: RecoveredGroup]) -> Void

    public init(
        configuration: AggregatorConfiguration, nats: NATSClient, readiness: ReadinessState, logger: Logger,
        metrics: AggregatorMetrics = AggregatorMetrics(), retryDelay: Duration = .seconds(1),
        onStart: @escaping @Sendable (AggregatorEngine, [String: RecoveredGroup]) -> Void = { _, _ in }
    ) {
        self.configuration = configuration
        self.nats = nats
        self.readiness = readiness
        self.logger = logger
        self.metrics = metrics
        self.retryDelay = retryDelay
        self.onStart = onStart
        readiness.markNotReady("jetstream", reason: "streams not set up yet", code: .aggregatorRecovery)
        readiness.setDetail("jetstream", "starting")
    }

    public func run() async throws {
        guard let recovered = await recoverUntilShutdown() else { return }
        let engine = try AggregatorEngine(
            configuration: configuration, recovered: recovered, nats: nats, readiness: readiness, logger: logger, metrics: metrics)
        try await engine.start().get()
        let reclaims = try followReclaims(engine)
        readiness.markReady("jetstream")
        readiness.setDetail("jetstream", "ok")
        onStart(engine, recovered)
        try? await gracefulShutdown()
        try? reclaims.unsubscribe()
        let acks = try await engine.stop().get()
        for ack in acks {
            _ = try? await ack.get()
        }
        logger.info("aggregator stopped; last batch and snapshots published")
    }

    /// Drops the state of the symbols xy-realtime stopped streaming: each `UpstreamChange` on
    /// `xy.ctl.upstream.changed` (issue 18's leases) hands its `removed` symbols to
    /// ``AggregatorEngine/reclaim(symbols:)``, which keeps configured symbols and other instances'
    /// groups. A message that is no `UpstreamChange` is logged (XYW203) and ignored.
    private func followReclaims(_ engine: AggregatorEngine) throws -> NATSSubscription {
        let logger = logger
        return try nats.subscribe(Subjects.upstreamChanged) { message in
            let change: Xy_Ctl_V1_UpstreamChange
            do {
                change = try Xy_Ctl_V1_UpstreamChange(serializedBytes: Array(message.payload.readableBytesView))
            } catch {
                logger.warning("not an UpstreamChange: ignored", metadata: [
                    "code": "\(XYErrorCode.upstreamChangeMalformed)", "subject": "\(message.subject)", "error": "\(error)"])
                return
            }
            guard !change.removed.isEmpty else { return }
            engine.reclaim(symbols: change.removed).whenSuccess { dropped in
                guard !dropped.isEmpty else { return }
                logger.info("reclaimed symbols xy-realtime stopped streaming", metadata: [
                    "symbols": "\(dropped.count)", "first": "\(dropped.prefix(5).joined(separator: ","))"])
            }
        }
    }

    /// Sets up the streams and rebuilds the groups, retrying (JetStream may come up after us)
    /// until it works or the service is asked to stop (nil).
    private func recoverUntilShutdown() async -> [String: RecoveredGroup]? {
        let jetStream = nats.jetStream()
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                _ = try await jetStream.createOrUpdateStream(AggregatorStreams.ticksConfiguration(configuration))
                _ = try await jetStream.createOrUpdateStream(AggregatorStreams.barsConfiguration(configuration))
                _ = try await jetStream.createOrUpdateStream(AggregatorStreams.barStateConfiguration())
                // Concurrently: every owned group (16 dynamic ones by default) is a few direct gets,
                // and a start should cost one round trip's wait, not one per group.
                let names = configuration.groups.map(\.name) + configuration.dynamicGroups
                var recovered: [String: RecoveredGroup] = [:]
                try await withThrowingTaskGroup(of: (String, RecoveredGroup).self) { tasks in
                    for name in names {
                        tasks.addTask { [logger] in (name, try await GroupRecovery.recover(group: name, jetStream: jetStream, logger: logger)) }
                    }
                    for try await (name, result) in tasks { recovered[name] = result }
                }
                for name in names {
                    guard let result = recovered[name], result.lastSeq != 0 || !result.state.symbols.isEmpty || !result.bars.isEmpty else { continue }
                    logger.info("group rebuilt", metadata: [
                        "group": "\(name)", "last_seq": "\(result.lastSeq)", "epoch": "\(result.epoch.map(String.init) ?? "new")",
                        "snapshot_seq": "\(result.snapshotSeq.map(String.init) ?? "none")",
                        "batches_replayed": "\(result.batchesReplayed)", "symbols": "\(result.state.symbols.count)",
                        "bars": "\(result.bars.count)",
                    ])
                }
                return recovered
            } catch {
                readiness.markNotReady("jetstream", reason: "set-up failed: \(error)", code: .aggregatorRecovery)
                readiness.setDetail("jetstream", "unavailable")
                logger.error("cannot set up streams or rebuild groups; retrying", metadata: [
                    "code": "\(XYErrorCode.aggregatorRecovery)", "error": "\(error)",
                ])
                try? await Task.sleep(for: retryDelay)
            }
        }
        return nil
    }
}

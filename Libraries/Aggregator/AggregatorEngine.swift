import Logging
import MarketData
import Metrics
import NATS
import NIOCore
import SwiftProtobuf
import XYContracts
import XYCore
import XYService

/// The aggregator's core: every owned group's `MarketState` and `TickBatcher`, the bar builder,
/// and the one timer that publishes batches, snapshots and sealed bars.
///
/// Owned groups are the configured ones (`AGG_GROUPS`) and the dynamic ones (``SymbolGroups``):
/// an instance that owns a dynamic group follows every `xy.md.event.*` subject, so a symbol
/// nobody configured is folded into its dynamic group from its first event, with no restart;
/// ``reclaim(symbols:)`` drops such symbols again when nobody streams them.
///
/// Confined to the NATS client's event loop, with no lock: events arrive through
/// `NATSClient.subscribe(_:handler:)` callbacks, which run on that loop, and the timer and
/// snapshot requests run there too, so the event path is a decode and a fold with no thread hop,
/// no task and no atomic. Counters are plain integers, added to swift-metrics once per tick.
public final class AggregatorEngine: @unchecked Sendable {
    struct Group {
        let name: String
        let tickSubject: String
        let snapshotSubject: String
        let requestSubject: String
        let barStateSubject: String
        /// The group's symbols, in configuration order (its bar checkpoint holds theirs); empty
        /// for a dynamic group, whose symbols are its state's.
        let symbols: [String]
        /// A dynamic group: its symbols come and go (first event, ``reclaim(symbols:)``).
        let dynamic: Bool
        var state: MarketState
        var batcher: TickBatcher
        /// The run this instance's seqs belong to, on every batch and snapshot: the one recovered
        /// from `XY_TICKS`, or the Unix nanoseconds at which this instance began the group's state
        /// when the stream had nothing to continue (consumers then drop theirs for its snapshot).
        let epoch: UInt64
        /// Monotonic receive time of the oldest change not batched yet (0: none).
        var oldestPendingNs: UInt64 = 0
        /// Monotonic time of the group's last batch (0: none yet).
        var lastBatchNs: UInt64 = 0
    }

    /// Where one symbol's events go, resolved once (at start, or at a new symbol's first event) so
    /// the event path does no lookup by symbol name: the symbol's UTF-8 (an event for another
    /// symbol is invalid), its index in the state of each group that holds it, and its index in the
    /// bar builder (both re-resolved after a reclaim moves them).
    struct Route {
        let symbol: [UInt8]
        let name: String
        let targets: [(group: Int, index: Int)]
        let barIndex: Int
    }

    struct Counts: Equatable {
        var events: Int64 = 0
        var stale: Int64 = 0
        var invalid: Int64 = 0
        /// Refused events per reason, in `EventRefusal.allCases` order.
        var refused = [Int64](repeating: 0, count: EventRefusal.allCases.count)
        var ticks: Int64 = 0
        var snapshots: Int64 = 0
        var requests: Int64 = 0
        var bars: Int64 = 0
        var storeFailures: Int64 = 0
        var reclaimed: Int64 = 0
        /// Symbols held across the owned groups (a gauge).
        var held: Int64 = 0
    }

    public let eventLoop: any EventLoop
    private let nats: NATSClient
    /// Ticks and snapshots: no retry after a 503 (a batch retried later would arrive out of order).
    private let ticksJetStream: JetStream
    /// Bars: retried, the de-duplication id makes that safe.
    private let barsJetStream: JetStream
    private let configuration: AggregatorConfiguration
    /// The rules every received event must meet before it reaches any group or bar.
    private let validation: EventValidation
    private let readiness: ReadinessState
    private let logger: Logger
    private let metrics: AggregatorMetrics
    private let schemaTickBatch: NATSHeaders = [Subjects.schemaHeader: Xy_Md_V1_TickBatch.protoMessageName]
    private let schemaSnapshot: NATSHeaders = [Subjects.schemaHeader: Xy_Md_V1_Snapshot.protoMessageName]
    private let schemaBar: NATSHeaders = [Subjects.schemaHeader: Xy_Md_V1_Bar.protoMessageName]
    private let schemaBarCheckpoint: NATSHeaders = [Subjects.schemaHeader: Xy_Md_V1_BarCheckpoint.protoMessageName]

    // Event-loop state.
    private var groups: [Group]
    private var bars: BarBuilder
    private var counts = Counts()
    private var reported = Counts()
    private var subscriptions: [NATSSubscription] = []
    /// Event subject → route, when following every symbol (an owned dynamic group).
    private var routes: [String: Route] = [:]
    /// Event subjects of symbols whose groups other instances own (followed, not folded).
    private var ignoredSubjects: Set<String> = []
    /// Configured symbol → the owned configured groups (indices into `groups`) that name it.
    private var configuredOwners: [String: [Int]] = [:]
    /// Dynamic group index (``SymbolGroups/dynamicIndex(of:)``) → its index in `groups`, when owned.
    private var dynamicOwner: [Int: Int] = [:]
    private var tickSchedule: TickSchedule?
    private var nextSnapshotNs: UInt64 = 0
    private var nextBarSweepNs: UInt64 = 0
    /// A trade reached the bar builder, or a bar sealed, since the last bar checkpoint.
    private var barsChanged = false
    /// When the groups' trading day ends (04:00 US/Eastern): volume and range start over.
    private var dayRoll: DayRoll
    private var scheduledTick: Scheduled<Void>?
    private var storing = true
    private var running = false

    /// How often quiet symbols' bars are checked for sealing, and the bars checkpointed into
    /// `XY_BAR_STATE` (a crash loses at most this much of the open bars' trades).
    static let barSweepIntervalNs: UInt64 = 1_000_000_000

    public init(
        configuration: AggregatorConfiguration, recovered: [String: RecoveredGroup], nats: NATSClient,
        readiness: ReadinessState, logger: Logger, metrics: AggregatorMetrics
    ) throws {
        self.configuration = configuration
        self.nats = nats
        self.eventLoop = nats.eventLoop
        var noRetry = JetStreamOptions()
        noRetry.publishRetries = 0
        self.ticksJetStream = nats.jetStream(noRetry)
        self.barsJetStream = nats.jetStream()
        self.readiness = readiness
        self.logger = logger
        self.metrics = metrics
        let grace = configuration.barGrace.components
        self.bars = try BarBuilder(graceNs: grace.seconds * 1_000_000_000 + grace.attoseconds / 1_000_000_000)
        let startNs = UInt64(max(1, wallClockNanoseconds()))
        let validation = EventValidation(maxFutureSkewNs: Int64(Self.nanoseconds(configuration.eventFutureSkew)))
        self.validation = validation
        // A snapshot, batch or bar checkpoint written after a bad event (by an older version, or
        // with a larger skew) must not poison this run: out-of-range values and keys stamped
        // beyond now + skew are dropped before anything is folded on top of them.
        let notAfterNs = wallClockNanoseconds() &+ validation.maxFutureSkewNs
        let owned: [(name: String, symbols: [String], dynamic: Bool)] =
            configuration.groups.map { ($0.name, $0.symbols, false) } + configuration.dynamicGroups.map { ($0, [], true) }
        self.groups = try owned.map { name, symbols, dynamic in
            var state = recovered[name]?.state ?? MarketState()
            state.validation = validation
            let repaired = state.repair(notAfterNs: notAfterNs)
            if !repaired.isEmpty {
                logger.warning("restored state held values no valid event can set; repaired", metadata: [
                    "group": "\(name)", "symbols": "\(repaired.joined(separator: ","))",
                ])
            }
            for symbol in symbols { _ = state.insert(symbol) }
            return Group(
                name: name,
                tickSubject: try Subjects.tick(group: name),
                snapshotSubject: try Subjects.snapshot(group: name),
                requestSubject: try Subjects.snapshotRequest(group: name),
                barStateSubject: try Subjects.barState(group: name),
                symbols: symbols,
                dynamic: dynamic,
                state: state,
                batcher: TickBatcher(group: name, lastSeq: recovered[name]?.lastSeq ?? 0),
                epoch: recovered[name]?.epoch ?? startNs
            )
        }
        self.dayRoll = DayRoll(newestEventNs: groups.reduce(0) { max($0, $1.state.newestEventNs) })
        for group in owned {
            let held = recovered[group.name]?.bars ?? []
            let taken = bars.restore(held, notAfterNs: notAfterNs)
            if taken < held.count {
                logger.warning("bar checkpoint held bars that cannot be continued; skipped", metadata: [
                    "group": "\(group.name)", "skipped": "\(held.count - taken)",
                ])
            }
        }
    }

    // MARK: lifecycle

    /// Subscribes to the groups' symbols (every event subject when a dynamic group is owned) and
    /// snapshot requests, and starts the timer.
    public func start() -> EventLoopFuture<Void> {
        eventLoop.submit { try self.startOnLoop() }
    }

    /// Stops the timer and subscriptions, publishes what changed since the last batch and a final
    /// snapshot of every group (so a restart resumes from exactly this state); returns their
    /// pending acknowledgements.
    public func stop() -> EventLoopFuture<[JetStreamPendingAck]> {
        eventLoop.submit { self.stopOnLoop() }
    }

    /// The group's current snapshot, as a request would get it (nil: not a group of this instance).
    public func snapshot(group name: String, symbols: [String] = []) -> EventLoopFuture<Xy_Md_V1_Snapshot?> {
        eventLoop.submit {
            guard let index = self.groups.firstIndex(where: { $0.name == name }) else { return nil }
            return self.makeSnapshot(index, symbols: symbols)
        }
    }

    /// Drops the state of `symbols` that nobody streams any more (reclaimed upstream), so memory
    /// follows the live set: for each owned dynamic group holding some of them, the changes not
    /// batched yet go out and a final snapshot with their last state is published; then their
    /// state and bars go (an open bar is sealed and stored first), and the group's snapshot and bar
    /// checkpoint are stored again without them (same seq: consumers take the snapshot for a
    /// duplicate, a restart resumes from the live set). Configured symbols stay (configuration
    /// owns them), as do symbols of groups this instance does not own. A reclaimed symbol's next
    /// event brings it back. Returns the symbols dropped.
    public func reclaim(symbols: [String]) -> EventLoopFuture<[String]> {
        eventLoop.submit { self.reclaimOnLoop(symbols) }
    }

    /// The symbols each owned group holds now, by group name.
    public func heldSymbols() -> EventLoopFuture<[String: [String]]> {
        eventLoop.submit {
            Dictionary(uniqueKeysWithValues: self.groups.map { ($0.name, $0.state.symbols.map(\.symbol)) })
        }
    }

    /// The events refused so far, by reason (what `xy_md_events_refused_total` shows after the next
    /// tick); reasons never seen are left out.
    public func refusedEvents() -> EventLoopFuture<[EventRefusal: Int64]> {
        eventLoop.submit {
            var refused: [EventRefusal: Int64] = [:]
            for (reason, count) in zip(EventRefusal.allCases, self.counts.refused) where count > 0 {
                refused[reason] = count
            }
            return refused
        }
    }

    private func startOnLoop() throws {
        guard !running else { return }
        running = true
        var order: [String] = []
        for (index, group) in groups.enumerated() {
            if group.dynamic {
                if let dynamicIndex = configuration.symbolGroups.dynamicIndex(ofGroup: group.name) { dynamicOwner[dynamicIndex] = index }
                continue
            }
            for symbol in group.symbols {
                if configuredOwners[symbol] == nil { order.append(symbol) }
                configuredOwners[symbol, default: []].append(index)
            }
        }
        if dynamicOwner.isEmpty {
            // Only configured symbols: one subscription each, the route bound to it (no lookup).
            for symbol in order {
                guard let route = makeRoute(symbol) else { continue }
                let subscription = try nats.subscribe(try Subjects.event(symbol: symbol)) { [self] message in
                    self.receive(message.payload, route: route)
                }
                subscriptions.append(subscription)
            }
        } else {
            for symbol in order {
                if let route = makeRoute(symbol) { routes[try Subjects.event(symbol: symbol)] = route }
            }
            let subscription = try nats.subscribe(Subjects.allEvents) { [self] message in
                self.receive(message)
            }
            subscriptions.append(subscription)
        }
        for index in groups.indices {
            let subscription = try nats.subscribe(groups[index].requestSubject) { [self] message in
                self.answer(message, group: index)
            }
            subscriptions.append(subscription)
        }
        let now = Self.uptimeNs()
        let interval = Self.nanoseconds(configuration.tickInterval)
        var schedule = TickSchedule(startNs: now, intervalNs: interval)
        let first = schedule.advance(nowNs: now)
        tickSchedule = schedule
        nextSnapshotNs = now + Self.nanoseconds(configuration.snapshotInterval)
        nextBarSweepNs = now + Self.barSweepIntervalNs
        scheduleTick(at: first)
        // Restored open bars whose minute ended while no instance ran: sealed and stored now (the
        // de-duplication id makes a bar the previous instance already stored a no-op).
        for bar in bars.advance(toNs: wallClockNanoseconds()) { publishBar(bar) }
        logger.info("aggregating", metadata: [
            "groups": "\(groups.map { "\($0.name)@\($0.batcher.lastSeq)" }.joined(separator: ","))",
            "epochs": "\(groups.map { "\($0.name)@\($0.epoch)" }.joined(separator: ","))",
            "symbols": "\(order.count)", "dynamic_groups": "\(dynamicOwner.count)",
        ])
    }

    /// The route of `symbol` in the groups this instance owns (its configured groups, or else its
    /// dynamic group, which takes it in now); nil when another instance owns them.
    private func makeRoute(_ symbol: String) -> Route? {
        let owners: [Int]
        if configuration.symbolGroups.configuredGroup(of: symbol) != nil {
            owners = configuredOwners[symbol] ?? []
        } else if let owner = dynamicOwner[configuration.symbolGroups.dynamicIndex(of: symbol)] {
            owners = [owner]
        } else {
            owners = []
        }
        guard !owners.isEmpty else { return nil }
        let targets = owners.map { group in (group: group, index: groups[group].state.insert(symbol)) }
        return Route(symbol: Array(symbol.utf8), name: symbol, targets: targets, barIndex: bars.index(for: symbol))
    }

    private func stopOnLoop() -> [JetStreamPendingAck] {
        guard running else { return [] }
        running = false
        scheduledTick?.cancel()
        scheduledTick = nil
        for subscription in subscriptions { try? subscription.unsubscribe() }
        subscriptions.removeAll()
        let now = Self.uptimeNs()
        let wall = wallClockNanoseconds()
        var acks: [JetStreamPendingAck] = []
        for index in groups.indices {
            if let ack = publishBatch(index, nowNs: now, wallNs: wall) { acks.append(ack) }
            // A dynamic group with no symbol has no state to resume from.
            if groups[index].state.symbols.isEmpty { continue }
            if let ack = publishSnapshot(index, wallNs: wall) { acks.append(ack) }
            if let ack = publishBarCheckpoint(index, wallNs: wall) { acks.append(ack) }
        }
        reportMetrics()
        return acks
    }

    // MARK: events

    /// Any `xy.md.event.*` message (following every symbol): routed by subject; the first event of
    /// a symbol resolves its route once (or marks it as another instance's).
    private func receive(_ message: NATSMessage) {
        if let route = routes[message.subject] {
            receive(message.payload, route: route)
            return
        }
        if ignoredSubjects.contains(message.subject) { return }
        guard message.subject.hasPrefix(Subjects.eventPrefix),
              let symbol = try? SubjectToken.symbol(fromToken: String(message.subject.dropFirst(Subjects.eventPrefix.count)))
        else {
            counts.events += 1
            refuse(.malformed)
            return
        }
        guard let route = makeRoute(symbol) else {
            ignoredSubjects.insert(message.subject)
            return
        }
        routes[message.subject] = route
        receive(message.payload, route: route)
    }

    /// One `xy.md.event.<symbol>` message: its fields read from the read buffer (no message
    /// built), checked (``EventValidation``, against the receive time), folded into each group that
    /// holds the symbol, and a trade into the symbol's bar. A refused event reaches neither.
    private func receive(_ payload: ByteBuffer, route: Route) {
        counts.events += 1
        let decoded = payload.withUnsafeReadableBytes { bytes in
            route.symbol.withUnsafeBytes { symbol in MarketEventFields(wire: bytes, symbol: symbol) }
        }
        guard let fields = decoded else {
            refuse(.malformed)
            return
        }
        if let refusal = validation.refusal(fields, receivedAtNs: wallClockNanoseconds()) {
            refuse(refusal)
            return
        }
        var refusedByState = false
        for target in route.targets {
            switch groups[target.group].state.apply(fields, at: target.index) {
            case .applied(let symbolIndex):
                if groups[target.group].oldestPendingNs == 0 { groups[target.group].oldestPendingNs = Self.uptimeNs() }
                groups[target.group].batcher.markChanged(symbolIndex)
            case .stale:
                counts.stale += 1
            case .invalid(let refusal):
                refusedByState = true
                refuse(refusal)
            }
        }
        if fields.kind == .trade, !refusedByState {
            let outcome = bars.apply(at: route.barIndex, price: fields.price, size: fields.size, timeNs: fields.eventTimeNs)
            if outcome != .invalid { barsChanged = true }
            if let bar = outcome.barToPublish { publishBar(bar) }
        }
    }

    /// Counts a refused event under its reason (and in the total).
    private func refuse(_ refusal: EventRefusal) {
        counts.invalid += 1
        if let index = EventRefusal.allCases.firstIndex(of: refusal) { counts.refused[index] += 1 }
    }

    // MARK: timer

    private func scheduleTick(at deadlineNs: UInt64) {
        scheduledTick = eventLoop.scheduleTask(deadline: .uptimeNanoseconds(deadlineNs)) { [self] in
            self.tick()
        }
    }

    private func tick() {
        guard running, var schedule = tickSchedule else { return }
        let now = Self.uptimeNs()
        let wall = wallClockNanoseconds()
        if dayRoll.advance(toNs: wall) { startNewDay() }
        for index in groups.indices {
            _ = publishBatch(index, nowNs: now, wallNs: wall)
        }
        if now >= nextSnapshotNs {
            for index in groups.indices where !groups[index].state.symbols.isEmpty {
                _ = publishSnapshot(index, wallNs: wall)
            }
            nextSnapshotNs += Self.nanoseconds(configuration.snapshotInterval)
            if nextSnapshotNs <= now { nextSnapshotNs = now + Self.nanoseconds(configuration.snapshotInterval) }
        }
        if now >= nextBarSweepNs {
            for bar in bars.advance(toNs: wall) {
                publishBar(bar)
                barsChanged = true
            }
            if barsChanged {
                for index in groups.indices where !groups[index].state.symbols.isEmpty { _ = publishBarCheckpoint(index, wallNs: wall) }
                barsChanged = false
            }
            nextBarSweepNs = now + Self.barSweepIntervalNs
        }
        reportMetrics()
        let next = schedule.advance(nowNs: Self.uptimeNs())
        tickSchedule = schedule
        scheduleTick(at: next)
    }

    /// A new trading day (``DayRoll``): every group's last prices become previous closes, the
    /// day's range and volume start over, and the next batch carries every symbol.
    private func startNewDay() {
        for index in groups.indices {
            groups[index].state.startNewDay()
            groups[index].batcher.markAllChanged(in: groups[index].state)
        }
        logger.info("new trading day: volume and range start over", metadata: ["day": "\(dayRoll.day ?? 0)"])
    }

    // MARK: reclaiming

    private func reclaimOnLoop(_ symbols: [String]) -> [String] {
        var byGroup: [Int: Set<String>] = [:]
        var reclaimed: [String] = []
        // Symbols other instances own are forgotten too: only their subject was remembered.
        for symbol in symbols {
            if let subject = try? Subjects.event(symbol: symbol) { ignoredSubjects.remove(subject) }
        }
        for symbol in symbols where configuration.symbolGroups.configuredGroup(of: symbol) == nil {
            guard let owner = dynamicOwner[configuration.symbolGroups.dynamicIndex(of: symbol)],
                  groups[owner].state.index(of: symbol) != nil, byGroup[owner]?.contains(symbol) != true
            else { continue }
            byGroup[owner, default: []].insert(symbol)
            reclaimed.append(symbol)
        }
        guard !byGroup.isEmpty else { return [] }
        let affected = byGroup.keys.sorted()
        let now = Self.uptimeNs()
        let wall = wallClockNanoseconds()
        for index in affected {
            _ = publishBatch(index, nowNs: now, wallNs: wall)
            _ = publishSnapshot(index, wallNs: wall)
            groups[index].state.remove(byGroup[index] ?? [])
        }
        let removed = Set(reclaimed)
        for bar in bars.remove(removed) { publishBar(bar) }
        // Every index may have moved: the bar builder's for all symbols, the states' for the
        // affected groups (their batchers hold nothing pending after the batch above).
        var rebuilt: [String: Route] = [:]
        rebuilt.reserveCapacity(routes.count)
        for (subject, route) in routes where !removed.contains(route.name) {
            let targets = route.targets.compactMap { target in
                groups[target.group].state.index(of: route.name).map { (group: target.group, index: $0) }
            }
            rebuilt[subject] = Route(symbol: route.symbol, name: route.name, targets: targets, barIndex: bars.index(for: route.name))
        }
        routes = rebuilt
        for index in affected {
            _ = publishSnapshot(index, wallNs: wall)
            _ = publishBarCheckpoint(index, wallNs: wall)
        }
        counts.reclaimed += Int64(reclaimed.count)
        logger.info("symbols reclaimed", metadata: [
            "symbols": "\(reclaimed.joined(separator: ","))", "groups": "\(affected.map { groups[$0].name }.joined(separator: ","))",
        ])
        return reclaimed
    }

    // MARK: publishing

    /// The group's batch of changed symbols, if any, on `xy.md.tick.<group>`.
    private func publishBatch(_ index: Int, nowNs: UInt64, wallNs: Int64) -> JetStreamPendingAck? {
        guard var batch = groups[index].batcher.makeBatch(from: groups[index].state, publishTimeNs: wallNs) else { return nil }
        batch.epoch = groups[index].epoch
        let ack = store(groups[index].tickSubject, batch, headers: schemaTickBatch)
        counts.ticks += 1
        metrics.batchSymbols.record(batch.ticks.count)
        if groups[index].lastBatchNs != 0 {
            metrics.batchInterval.recordNanoseconds(Int64(nowNs &- groups[index].lastBatchNs))
        }
        if groups[index].oldestPendingNs != 0 {
            metrics.fanoutLatency.recordNanoseconds(Int64(Self.uptimeNs() &- groups[index].oldestPendingNs))
        }
        groups[index].lastBatchNs = nowNs
        groups[index].oldestPendingNs = 0
        return ack
    }

    private func publishSnapshot(_ index: Int, wallNs: Int64) -> JetStreamPendingAck? {
        var snapshot = groups[index].state.snapshot(group: groups[index].name, seq: groups[index].batcher.lastSeq, timeNs: wallNs)
        snapshot.epoch = groups[index].epoch
        counts.snapshots += 1
        return store(groups[index].snapshotSubject, snapshot, headers: schemaSnapshot)
    }

    /// The bars held for the group's symbols on `xy.md.barstate.<group>` (`XY_BAR_STATE` keeps the
    /// newest), so the next instance continues them; no retry, like batches (a retried checkpoint
    /// could land after a newer one).
    private func publishBarCheckpoint(_ index: Int, wallNs: Int64) -> JetStreamPendingAck? {
        var checkpoint = Xy_Md_V1_BarCheckpoint()
        checkpoint.group = groups[index].name
        checkpoint.timeNs = wallNs
        checkpoint.bars = groups[index].dynamic
            ? bars.heldBars(for: groups[index].state.symbols.lazy.map(\.symbol)) : bars.heldBars(for: groups[index].symbols)
        return store(groups[index].barStateSubject, checkpoint, headers: schemaBarCheckpoint)
    }

    private func makeSnapshot(_ index: Int, symbols: [String]) -> Xy_Md_V1_Snapshot {
        var snapshot = groups[index].state.snapshot(
            group: groups[index].name, seq: groups[index].batcher.lastSeq, timeNs: wallClockNanoseconds(), symbols: symbols)
        snapshot.epoch = groups[index].epoch
        return snapshot
    }

    /// Publishes into `XY_TICKS` without waiting: the message goes out at once (core subscribers
    /// get it with no added latency) and the acknowledgement, when it comes, only feeds the
    /// `jetstream` readiness condition and `xy_md_store_failures_total`.
    private func store(_ subject: String, _ message: some SwiftProtobuf.Message, headers: NATSHeaders) -> JetStreamPendingAck? {
        let payload: ByteBuffer
        do {
            payload = try message.payload()
        } catch {
            logger.error("cannot encode", metadata: ["subject": "\(subject)", "error": "\(error)"])
            return nil
        }
        let ack = ticksJetStream.publishAsync(subject, payload: payload, headers: headers)
        ack.future.hop(to: eventLoop).whenComplete { [self] result in
            switch result {
            case .success: self.stored()
            case .failure(let error): self.storeFailed(subject, error)
            }
        }
        return ack
    }

    /// A sealed or amended bar into `XY_BARS`, acknowledged, with a de-duplication id that
    /// changes with every amendment (`SYMBOL-start-tradeCount`).
    private func publishBar(_ bar: Xy_Md_V1_Bar) {
        guard let subject = try? Subjects.bar(symbol: bar.symbol), let payload = try? bar.payload() else { return }
        let id = "\(bar.symbol)-\(bar.startTimeNs)-\(bar.tradeCount)"
        let ack = barsJetStream.publishAsync(subject, payload: payload, headers: schemaBar, options: .init(messageID: id))
        ack.future.hop(to: eventLoop).whenComplete { [self] result in
            switch result {
            case .success(let ack):
                if !ack.duplicate { self.counts.bars += 1 }
                self.stored()
            case .failure(let error):
                self.storeFailed(subject, error)
            }
        }
    }

    private func stored() {
        guard !storing else { return }
        storing = true
        readiness.markReady("jetstream")
        readiness.setDetail("jetstream", "ok")
        logger.info("JetStream stores again")
    }

    private func storeFailed(_ subject: String, _ error: any Error) {
        counts.storeFailures += 1
        guard storing else { return }
        storing = false
        readiness.markNotReady("jetstream", reason: "not storing: \(error)", code: .jetStreamStore)
        readiness.setDetail("jetstream", "failing")
        logger.warning("JetStream did not store", metadata: ["code": "\(XYErrorCode.jetStreamStore)", "subject": "\(subject)", "error": "\(error)"])
    }

    // MARK: snapshot requests

    /// `xy.md.snapshot.get.<group>`: the current snapshot (optionally a `SnapshotRequest`'s
    /// symbols only), answered on the event loop at once.
    private func answer(_ message: NATSMessage, group index: Int) {
        guard let replyTo = message.replyTo else { return }
        var symbols: [String] = []
        if message.payload.readableBytes > 0, let request = try? Xy_Md_V1_SnapshotRequest(payload: message.payload) {
            symbols = request.symbols
        }
        counts.requests += 1
        do {
            try nats.publish(replyTo, payload: try makeSnapshot(index, symbols: symbols).payload(), headers: schemaSnapshot)
        } catch {
            logger.warning("cannot answer a snapshot request", metadata: ["group": "\(groups[index].name)", "error": "\(error)"])
        }
    }

    // MARK: metrics

    private func reportMetrics() {
        counts.held = Int64(groups.reduce(0) { $0 + $1.state.symbols.count })
        let now = counts
        let before = reported
        if now == before { return }
        func add(_ counter: Counter, _ delta: Int64) { if delta > 0 { counter.increment(by: delta) } }
        add(metrics.eventsIn, now.events - before.events)
        add(metrics.staleEvents, now.stale - before.stale)
        add(metrics.invalidEvents, now.invalid - before.invalid)
        for index in now.refused.indices {
            add(metrics.refusedEvents[index], now.refused[index] - before.refused[index])
        }
        add(metrics.ticksOut, now.ticks - before.ticks)
        add(metrics.snapshotsOut, now.snapshots - before.snapshots)
        add(metrics.snapshotRequests, now.requests - before.requests)
        add(metrics.barsOut, now.bars - before.bars)
        add(metrics.storeFailures, now.storeFailures - before.storeFailures)
        add(metrics.reclaimedSymbols, now.reclaimed - before.reclaimed)
        if now.held != before.held { metrics.heldSymbols.record(now.held) }
        reported = now
    }

    static func uptimeNs() -> UInt64 {
        NIODeadline.now().uptimeNanoseconds
    }

    static func nanoseconds(_ duration: Duration) -> UInt64 {
        UInt64(max(0, TimeAmount(duration).nanoseconds))
    }
}

extension XYErrorCode {
    /// A tick batch, snapshot or bar that `XY_TICKS`/`XY_BARS` did not acknowledge.
    public static let jetStreamStore = XYErrorCode(rawValue: "XYW201")
    /// The streams could not be created or a group's state could not be rebuilt at start.
    public static let aggregatorRecovery = XYErrorCode(rawValue: "XYW202")
    /// A message on `xy.ctl.upstream.changed` that is no `xy.ctl.v1.UpstreamChange`; ignored.
    public static let upstreamChangeMalformed = XYErrorCode(rawValue: "XYW203")
}

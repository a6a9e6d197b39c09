import Atomics
import Logging
import NATS
import NIOConcurrencyHelpers
import NIOCore
import SwiftProtobuf
import XYContracts
import XYCore

/// What a topic hands to the connections of one event loop.
public enum Delivery: Sendable {
    /// A tick batch, in seq order.
    case tick(TickItem)
    /// A snapshot and the batches after it. `repair` goes to every subscriber (the gateway's own
    /// stream broke, or NATS came back); otherwise only to subscribers still waiting for a first one.
    case snapshot(SnapshotItem, replay: [TickItem], repair: Bool)
    /// Anything forwarded as is (bars, snapshots on their own subject).
    case frames(EncodedFrames)
}

/// The families of subjects the gateway knows how to encode for browsers.
public enum TopicKind: Sendable, Hashable {
    /// `xy.md.tick.<group>`: batches, with snapshot on subscribe and gap repair.
    case ticks
    /// `xy.md.snapshot.<group>`: forwarded snapshots.
    case snapshots
    /// `xy.md.bar.<symbol>`: forwarded bars.
    case bars

    /// The kind of a client subject, or nil for subjects the gateway does not forward.
    public init?(subject: String) {
        if subject.hasPrefix(Subjects.tickPrefix) {
            self = .ticks
        } else if subject.hasPrefix(Subjects.snapshotPrefix) && !subject.hasPrefix(Subjects.snapshotRequestPrefix) {
            self = .snapshots
        } else if subject.hasPrefix(Subjects.barPrefix) {
            self = .bars
        } else {
            return nil
        }
    }
}

/// One NATS subscription shared by every connection that wants its subject, with the group
/// caches behind snapshot-on-subscribe. Counts and caches live in ``State`` behind `state`'s lock,
/// so the compiler lets nothing touch them without it; deliveries go to each event loop that has
/// subscribers as one task per message, not one per connection.
public final class Topic: Sendable {
    public let subject: String
    public let kind: TopicKind
    /// Everything about the topic that changes after it is made, reachable only under its lock.
    let state: NIOLockedValueBox<State>
    /// Connections on `xy.v1.proto` holding the topic: only then is each message encoded in proto too.
    let protoSubscribers = ManagedAtomic<Int>(0)

    /// A topic's mutable part: one value, so a reader never sees half of an update.
    struct State: Sendable {
        /// Subscribers per loop shard, and over all shards.
        var shardCounts: [Int]
        var total = 0
        /// Set by the last subscriber out: no NATS subscription or snapshot request starts after it.
        var closed = false
        var caches: [String: GroupCache] = [:]
        /// Groups with a snapshot request in flight, and whether it repairs (goes to everyone).
        var snapshotRequests: [String: Bool] = [:]
        var natsSubscriptions: [NATSSubscription] = []
        /// Per group, when its producer was last heard from (a batch, a snapshot or a reply), in
        /// uptime nanoseconds; and the groups currently reported silent (XYW008).
        var lastHeard: [String: UInt64] = [:]
        var silent: Set<String> = []

        /// Notes that `group`'s producer spoke; true when it had been reported silent.
        mutating func heard(_ group: String) -> Bool {
            lastHeard[group] = NIODeadline.now().uptimeNanoseconds
            return silent.remove(group) != nil
        }

        /// Shards with at least one subscriber.
        var activeShards: [Int] {
            shardCounts.indices.filter { shardCounts[$0] > 0 }
        }
    }

    init(subject: String, kind: TopicKind, shardCount: Int) {
        self.subject = subject
        self.kind = kind
        self.state = NIOLockedValueBox(State(shardCounts: Array(repeating: 0, count: shardCount)))
    }

    var wantsProto: Bool { protoSubscribers.load(ordering: .relaxed) > 0 }

    /// The tick subject a group's snapshot is sent under (what the client subscribed). A label
    /// in the frame, never subscribed, so a group that is no valid token is still named as it came.
    static func tickSubject(group: String) -> String { Subjects.tickPrefix + group }
}

/// The connections of one event loop, touched only on that loop: deliveries arrive as one task
/// per message and are written to every subscribed connection, then flushed once per connection.
final class LoopShard: @unchecked Sendable {
    let index: Int
    let loop: any EventLoop
    private var subscribers: [ObjectIdentifier: [ObjectIdentifier: WebSocketSession]] = [:]
    private(set) var sessions: [ObjectIdentifier: WebSocketSession] = [:]
    private var pendingFlush: [WebSocketSession] = []
    private var flushScheduled = false
    let metrics: GatewayMetrics

    init(index: Int, loop: any EventLoop, metrics: GatewayMetrics) {
        self.index = index
        self.loop = loop
        self.metrics = metrics
    }

    func add(_ session: WebSocketSession) {
        loop.preconditionInEventLoop()
        sessions[ObjectIdentifier(session)] = session
    }

    func remove(_ session: WebSocketSession) {
        sessions[ObjectIdentifier(session)] = nil
    }

    func attach(_ session: WebSocketSession, to topic: Topic) {
        subscribers[ObjectIdentifier(topic), default: [:]][ObjectIdentifier(session)] = session
    }

    func detach(_ session: WebSocketSession, from topic: Topic) {
        let key = ObjectIdentifier(topic)
        subscribers[key]?[ObjectIdentifier(session)] = nil
        if subscribers[key]?.isEmpty == true { subscribers[key] = nil }
    }

    /// Runs on `loop`: hands one message to every connection subscribed to `topic`.
    func deliver(_ delivery: Delivery, topic: Topic) {
        guard let receivers = subscribers[ObjectIdentifier(topic)] else { return }
        var written = 0
        for session in receivers.values where session.deliver(delivery, topic: topic) {
            written += 1
        }
        if written > 0 {
            metrics.forwarded.increment(by: Int64(written))
            if case .tick(let item) = delivery, item.batch.publishTimeNs > 0 {
                let latency = wallClockNanoseconds() - item.batch.publishTimeNs
                if latency >= 0 { metrics.endToEndLatency.recordNanoseconds(latency) }
            }
        }
    }

    /// Sends a frame to every connection of this loop (status changes).
    func broadcast(_ frames: EncodedFrames) {
        for session in sessions.values { session.sendShared(frames) }
    }

    /// Queues a flush of `session` after the tasks already waiting on this loop, so several
    /// deliveries in one loop turn end in one flush.
    func scheduleFlush(_ session: WebSocketSession) {
        pendingFlush.append(session)
        guard !flushScheduled else { return }
        flushScheduled = true
        loop.execute { self.flushAll() }
    }

    private func flushAll() {
        flushScheduled = false
        let sessions = pendingFlush
        pendingFlush.removeAll(keepingCapacity: true)
        for session in sessions { session.flushNow() }
    }
}

/// The gateway's fan-out: one NATS subscription per distinct client subject, each message decoded
/// and encoded once, delivered to the event loops that have subscribers. Thread-safe.
public final class FanoutHub: Sendable {
    /// Pause before asking again for a snapshot nobody answered: 100 ms doubling to 2 s.
    static let snapshotRetry = Backoff(initial: .milliseconds(100), cap: .seconds(2))

    let nats: NATSClient
    let encoder: MessageEncoder
    let shards: [LoopShard]
    let metrics: GatewayMetrics
    let logger: Logger
    let snapshotTimeout: Duration
    /// How long a group's producer may say nothing before subscribers are told the data is stale.
    let producerSilence: Duration
    /// Topics by client subject. Lock order: this lock, then a topic's, never the other way round.
    private let topics = NIOLockedValueBox<[String: Topic]>([:])
    private let natsUp: ManagedAtomic<Bool>
    let clients = ManagedAtomic<Int>(0)
    private let lastError = NIOLockedValueBox<String?>(nil)
    /// Snapshot requests waiting for ``run()`` to start them.
    private let snapshotJobs = AsyncStream.makeStream(of: SnapshotJob.self)

    /// `loops` are the event loops the WebSocket connections live on (the server's group).
    public init(
        nats: NATSClient, loops: [any EventLoop], encoder: MessageEncoder, metrics: GatewayMetrics, snapshotTimeout: Duration,
        producerSilence: Duration = .seconds(15), logger: Logger
    ) {
        self.nats = nats
        self.encoder = encoder
        self.metrics = metrics
        self.logger = logger
        self.snapshotTimeout = snapshotTimeout
        self.producerSilence = producerSilence
        self.shards = loops.enumerated().map { LoopShard(index: $0.offset, loop: $0.element, metrics: metrics) }
        self.natsUp = ManagedAtomic(nats.isConnected)
    }

    public var isNATSConnected: Bool { natsUp.load(ordering: .relaxed) }

    /// Open WebSocket connections.
    public var clientCount: Int { clients.load(ordering: .relaxed) }

    /// The last error code the gateway answered or logged (for `/healthz`).
    public var lastErrorCode: String? { lastError.withLockedValue { $0 } }

    public func noteError(_ code: String) {
        lastError.withLockedValue { $0 = code }
    }

    /// Closes every connection with 1001 (the gateway is shutting down) and returns once every
    /// socket is closed, or after `timeout` for clients that do not let the close frame out.
    public func goingAway(timeout: Duration) async {
        let perShard = shards.map { shard in
            shard.loop.submit { shard.sessions.values.compactMap { $0.goingAway() } }
                .flatMap { EventLoopFuture.andAllComplete($0, on: shard.loop) }
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for future in perShard { try? await future.get() }
            }
            // The deadline of the race, not a pause: whichever child ends first ends the wait.
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    /// NATS subjects held, for `/healthz`.
    public var subjects: [String] {
        topics.withLockedValue { topics in
            topics.values.flatMap { topic in topic.state.withLockedValue { $0.natsSubscriptions.map(\.subject) } }.sorted()
        }
    }

    func shard(for loop: any EventLoop) -> LoopShard? {
        shards.first { $0.loop === loop }
    }

    // MARK: membership (called on the session's loop)

    /// Adds `session` to `subject`'s topic (subscribing NATS for the first one) and returns what
    /// it must be sent first: for ticks, the group snapshots and the batches after them.
    func subscribe(_ session: WebSocketSession, subject: String, kind: TopicKind, encoding: FrameEncoding, shard: LoopShard) throws -> (Topic, [Delivery]) {
        let (topic, created) = topics.withLockedValue { topics -> (Topic, Bool) in
            let topic = topics[subject] ?? Topic(subject: subject, kind: kind, shardCount: shards.count)
            let created = topics[subject] == nil
            topic.state.withLockedValue { state in
                state.shardCounts[shard.index] += 1
                state.total += 1
            }
            topics[subject] = topic
            return (topic, created)
        }
        shard.attach(session, to: topic)
        if encoding == .proto { topic.protoSubscribers.wrappingIncrement(ordering: .relaxed) }
        if created {
            do {
                try startSubscriptions(topic)
            } catch {
                unsubscribe(session, topic: topic, encoding: encoding, shard: shard)
                throw error
            }
        }
        guard kind == .ticks else { return (topic, []) }
        let initial: [Delivery] = topic.state.withLockedValue { state in
            state.caches.values.compactMap { cache in
                cache.replay.map { Delivery.snapshot($0.snapshot, replay: $0.batches, repair: false) }
            }
        }
        var first = initial
        // A concrete group with no snapshot yet: ask the aggregator now rather than wait for the
        // periodic one.
        if !subject.contains("*") {
            let group = String(subject.dropFirst(Subjects.tickPrefix.count))
            let silent = topic.state.withLockedValue { state -> Bool in
                // The silence clock of a group nobody followed starts now.
                if state.lastHeard[group] == nil { state.lastHeard[group] = NIODeadline.now().uptimeNanoseconds }
                return state.silent.contains(group)
            }
            if silent { first.append(.frames(producerStatus(topic, group: group, silent: true))) }
            requestSnapshot(topic, group: group, repair: false)
        }
        return (topic, first)
    }

    /// Removes `session` from `topic`; the last one out drops the NATS subscription.
    func unsubscribe(_ session: WebSocketSession, topic: Topic, encoding: FrameEncoding, shard: LoopShard) {
        shard.detach(session, from: topic)
        if encoding == .proto { topic.protoSubscribers.wrappingDecrement(ordering: .relaxed) }
        let drop: [NATSSubscription] = topics.withLockedValue { topics in
            let released = topic.state.withLockedValue { state -> [NATSSubscription]? in
                state.shardCounts[shard.index] -= 1
                state.total -= 1
                guard state.total == 0, !state.closed else { return nil }
                state.closed = true
                defer { state.natsSubscriptions = [] }
                return state.natsSubscriptions
            }
            guard let released else { return [] }
            if topics[topic.subject] === topic { topics[topic.subject] = nil }
            return released
        }
        for subscription in drop { try? subscription.unsubscribe() }
        if !drop.isEmpty { metrics.natsSubscriptions.decrement(by: Double(drop.count)) }
    }

    private func startSubscriptions(_ topic: Topic) throws {
        var subjects = [topic.subject]
        // The periodic snapshots keep the cache's base fresh (xy.md.tick.X → xy.md.snapshot.X).
        if topic.kind == .ticks, let snapshots = Subjects.snapshot(forTickSubject: topic.subject) {
            subjects.append(snapshots)
        }
        var made: [NATSSubscription] = []
        do {
            for subject in subjects {
                made.append(try nats.subscribe(subject) { [weak self, weak topic] message in
                    guard let self, let topic else { return }
                    self.received(message, topic: topic)
                })
            }
        } catch {
            for subscription in made { try? subscription.unsubscribe() }
            throw error
        }
        let stale: Bool = topic.state.withLockedValue { state in
            if state.closed { return true }
            state.natsSubscriptions = made
            return false
        }
        if stale {
            for subscription in made { try? subscription.unsubscribe() }
        } else {
            metrics.natsSubscriptions.increment(by: Double(made.count))
        }
    }

    // MARK: messages (NATS event loop)

    private func received(_ message: NATSMessage, topic: Topic) {
        let now = wallClockNanoseconds()
        do {
            switch topic.kind {
            case .ticks where message.subject.hasPrefix(Subjects.snapshotPrefix):
                let snapshot = try Xy_Md_V1_Snapshot(serializedBytes: Array(message.payload.readableBytesView))
                snapshotArrived(snapshot, topic: topic, fromRequest: false, nowNs: now)
            case .ticks:
                let batch = try Xy_Md_V1_TickBatch(serializedBytes: Array(message.payload.readableBytesView))
                tickArrived(batch, subject: message.subject, topic: topic, nowNs: now)
            case .snapshots:
                let snapshot = try Xy_Md_V1_Snapshot(serializedBytes: Array(message.payload.readableBytesView))
                deliver(.frames(encoder.snapshot(snapshot, subject: message.subject, nowNs: now)), topic: topic)
            case .bars:
                let bar = try Xy_Md_V1_Bar(serializedBytes: Array(message.payload.readableBytesView))
                deliver(.frames(encoder.bar(bar, subject: message.subject, nowNs: now)), topic: topic)
            }
        } catch {
            metrics.undecodable.increment()
            logger.warning("undecodable message dropped", metadata: ["subject": "\(message.subject)", "error": "\(error)"])
        }
    }

    /// Batches kept after a snapshot before the cache folds them into a new one.
    static let compactAfter = 64

    private func tickArrived(_ batch: Xy_Md_V1_TickBatch, subject: String, topic: Topic, nowNs: Int64) {
        let item = TickItem(
            batch: batch, subject: subject, json: encoder.tickFrame(batch, subject: subject, nowNs: nowNs, .json),
            proto: topic.wantsProto ? encoder.tickFrame(batch, subject: subject, nowNs: nowNs, .proto) : nil)
        let (result, needsSnapshot, shards, folded, recovered) = topic.state.withLockedValue {
            state -> (GroupCache.BatchResult, Bool, [Int], Xy_Md_V1_Snapshot?, Bool) in
            let recovered = state.heard(batch.group)
            var cache = state.caches[batch.group] ?? GroupCache(group: batch.group)
            let result = cache.add(item)
            let needs = cache.needsSnapshot && state.snapshotRequests[batch.group] == nil
            let folded = cache.batches.count >= Self.compactAfter ? cache.folded() : nil
            state.caches[batch.group] = cache
            return (result, needs, state.activeShards, folded, recovered)
        }
        if recovered { producerRecovered(topic, group: batch.group) }
        if let folded {
            // A new base at the newest seq; nobody is sent it (subscribers already follow the batches).
            let base = snapshotItem(folded, topic: topic, nowNs: nowNs)
            topic.state.withLockedValue { _ = $0.caches[folded.group]?.apply(base) }
        }
        switch result {
        case .duplicate:
            return
        case .newEpoch(let previous):
            // The producer started over (it could not recover the group): the cache holds only
            // this batch now, and every subscriber gets the new epoch's snapshot as its base
            // (`repair`), this batch in its replay. Sending the batch itself would only be dropped
            // (its seq is below what the connections sent) or, above it, break their run.
            metrics.epochChanges.increment()
            logger.notice("the producer started a new epoch; resetting the group and requesting a snapshot", metadata: [
                "group": "\(batch.group)", "previous_epoch": "\(previous)", "epoch": "\(batch.epoch)", "seq": "\(batch.seq)",
            ])
            requestSnapshot(topic, group: batch.group, repair: true)
            return
        case .gap(let expected, let received):
            metrics.gaps.increment()
            logger.warning("gap in the gateway's tick stream; requesting a snapshot", metadata: [
                "group": "\(batch.group)", "expected": "\(expected)", "received": "\(received)",
            ])
            requestSnapshot(topic, group: batch.group, repair: true)
        case .accepted:
            if needsSnapshot { requestSnapshot(topic, group: batch.group, repair: false) }
        }
        for index in shards { dispatch(.tick(item), topic: topic, shard: index) }
    }

    /// A snapshot from the periodic subject or from a request (`fromRequest`): it becomes the
    /// cache's base when newer, and goes out to waiting subscribers, or to all of them when a
    /// repair was asked for.
    private func snapshotArrived(_ snapshot: Xy_Md_V1_Snapshot, topic: Topic, fromRequest: Bool, nowNs: Int64) {
        let item = snapshotItem(snapshot, topic: topic, nowNs: nowNs)
        if topic.state.withLockedValue({ $0.heard(snapshot.group) }) { producerRecovered(topic, group: snapshot.group) }
        let outcome: (Delivery, [Int], previousEpoch: UInt64?)? = topic.state.withLockedValue { state in
            var cache = state.caches[snapshot.group] ?? GroupCache(group: snapshot.group)
            let hadBase = !cache.needsSnapshot
            let pending = state.snapshotRequests[snapshot.group]
            let result = cache.apply(item)
            state.caches[snapshot.group] = cache
            let applied: Bool
            let previousEpoch: UInt64?
            switch result {
            case .applied: (applied, previousEpoch) = (true, nil)
            case .newEpoch(let previous): (applied, previousEpoch) = (true, previous)
            case .refused: (applied, previousEpoch) = (false, nil)
            }
            // Done asking once the cache has a base at least as new as what the aggregator has;
            // without one (the snapshot did not bridge a gap) the request keeps retrying.
            guard applied || (fromRequest && !cache.needsSnapshot) else { return nil }
            state.snapshotRequests[snapshot.group] = nil
            // A new epoch's base goes to every subscriber: their seqs are of the old one.
            let repair = pending == true || previousEpoch != nil
            guard repair || (applied && !hadBase), let replay = cache.replay else { return nil }
            return (.snapshot(replay.snapshot, replay: replay.batches, repair: repair), state.activeShards, previousEpoch)
        }
        guard let (delivery, shards, previousEpoch) = outcome else { return }
        if let previousEpoch {
            // The snapshot came before any batch of the new epoch (a batch first is counted in tickArrived).
            metrics.epochChanges.increment()
            logger.notice("a snapshot of a new epoch replaces the group's state", metadata: [
                "group": "\(snapshot.group)", "previous_epoch": "\(previousEpoch)", "epoch": "\(snapshot.epoch)", "seq": "\(snapshot.seq)",
            ])
        }
        for index in shards { dispatch(delivery, topic: topic, shard: index) }
    }

    private func snapshotItem(_ snapshot: Xy_Md_V1_Snapshot, topic: Topic, nowNs: Int64) -> SnapshotItem {
        let subject = Topic.tickSubject(group: snapshot.group)
        return SnapshotItem(
            snapshot: snapshot, json: encoder.snapshotFrame(snapshot, subject: subject, nowNs: nowNs, .json),
            proto: topic.wantsProto ? encoder.snapshotFrame(snapshot, subject: subject, nowNs: nowNs, .proto) : nil)
    }

    private func deliver(_ delivery: Delivery, topic: Topic) {
        let shards = topic.state.withLockedValue { $0.activeShards }
        for index in shards { dispatch(delivery, topic: topic, shard: index) }
    }

    private func dispatch(_ delivery: Delivery, topic: Topic, shard index: Int) {
        let shard = shards[index]
        shard.loop.execute { shard.deliver(delivery, topic: topic) }
    }

    // MARK: snapshot requests

    /// Asks `xy.md.snapshot.get.<group>` (once at a time per group), retrying until the topic
    /// closes or its cache has a base again. The asking is a child task of ``run()``.
    func requestSnapshot(_ topic: Topic, group: String, repair: Bool) {
        let start: Bool = topic.state.withLockedValue { state in
            guard !state.closed else { return false }
            if let inFlight = state.snapshotRequests[group] {
                state.snapshotRequests[group] = inFlight || repair
                return false
            }
            if !repair, state.caches[group]?.needsSnapshot == false { return false }
            state.snapshotRequests[group] = repair
            return true
        }
        guard start else { return }
        if case .terminated = snapshotJobs.continuation.yield(SnapshotJob(topic: topic, group: group)) {
            // The hub has stopped: nobody will ask, so the group is not left marked as asking.
            topic.state.withLockedValue { _ = $0.snapshotRequests.removeValue(forKey: group) }
        }
    }

    /// One group's snapshot request, for ``run()`` to start.
    struct SnapshotJob: Sendable {
        let topic: Topic
        let group: String
    }

    private func runSnapshotRequest(_ topic: Topic, group: String) async {
        let subject: String
        do {
            subject = try Subjects.snapshotRequest(group: group)
        } catch {
            // The group came in a producer's batch; no subject can be made of it, so no reply will come.
            topic.state.withLockedValue { _ = $0.snapshotRequests.removeValue(forKey: group) }
            logger.warning("no snapshot request for a group that is not a subject token", metadata: [
                "code": "\(XYErrorCode.subjectDenied)", "group": "\(group)", "error": "\(error.message)",
            ])
            return
        }
        var request = Xy_Md_V1_SnapshotRequest()
        request.group = group
        let payload = ByteBuffer(bytes: (try? request.serializedBytes() as [UInt8]) ?? [])
        let timeout = TimeAmount(snapshotTimeout)
        var attempt = 0
        while !Task.isCancelled {
            let wanted = topic.state.withLockedValue { !$0.closed && $0.snapshotRequests[group] != nil }
            guard wanted else { return }
            do {
                let reply = try await nats.request(subject, payload: payload, timeout: timeout)
                if let status = reply.status, status >= 300 {
                    throw NATSError(.noResponders, "snapshot request answered with status \(status)")
                }
                let snapshot = try Xy_Md_V1_Snapshot(serializedBytes: Array(reply.payload.readableBytesView))
                snapshotArrived(snapshot, topic: topic, fromRequest: true, nowNs: wallClockNanoseconds())
                let done = topic.state.withLockedValue { $0.snapshotRequests[group] == nil }
                if done { return }
            } catch {
                guard !Task.isCancelled else { return }
                if let error = error as? NATSError, error.code == .noResponders {
                    // Nobody serves the group: no point waiting for the silence timeout to say so.
                    producerSilent(topic, group: group)
                }
                if attempt % 10 == 0 {
                    logger.warning("snapshot request failed; retrying", metadata: [
                        "code": "\(XYErrorCode.natsUnavailable)", "group": "\(group)", "error": "\(error)",
                    ])
                }
            }
            attempt += 1
            try? await Task.sleep(for: Self.snapshotRetry.delay(attempt: attempt - 1, unitRandom: .random(in: 0..<1)))
        }
    }

    // MARK: the hub's lifetime

    /// The hub's own work for as long as the server runs: the producers' watch, and every snapshot
    /// request as a child task, so none outlives the server (cancelling `run` cancels them and
    /// returns once they have ended). Requests made before `run` starts wait for it. Call once.
    public func run() async {
        await withDiscardingTaskGroup { children in
            children.addTask { await self.watchProducers() }
            for await job in snapshotJobs.stream {
                children.addTask { await self.runSnapshotRequest(job.topic, group: job.group) }
            }
            // Cancelled: later requests are refused at once rather than queued for nobody.
            snapshotJobs.continuation.finish()
            children.cancelAll()
        }
    }

    // MARK: producer silence

    /// Watches every followed group's producer until the gateway shuts down: a group that sent
    /// nothing (no batch, no periodic snapshot, no reply) for `producerSilence` is reported stale.
    func watchProducers() async {
        let period = min(producerSilence / 4, .seconds(1))
        while !Task.isCancelled {
            do { try await Task.sleep(for: period) } catch { return }
            checkProducers(nowNs: NIODeadline.now().uptimeNanoseconds)
        }
    }

    /// One pass of the watch (tests call it with their own clock).
    func checkProducers(nowNs: UInt64) {
        // Without NATS nothing can arrive; subscribers already hear XYW004.
        guard isNATSConnected else { return }
        let limit = UInt64(max(0, TimeAmount(producerSilence).nanoseconds))
        let held = topics.withLockedValue { $0.values.filter { $0.kind == .ticks } }
        for topic in held {
            let quiet = topic.state.withLockedValue { state in
                state.lastHeard.filter { nowNs > $0.value && nowNs - $0.value > limit && !state.silent.contains($0.key) }.map(\.key)
            }
            for group in quiet { producerSilent(topic, group: group, unheardSince: nowNs - limit) }
        }
    }

    /// Tells the topic's subscribers that `group` has gone stale (once, until it is heard again);
    /// `unheardSince`: only if nothing arrived after that instant (a batch may have come since
    /// the watch looked).
    private func producerSilent(_ topic: Topic, group: String, unheardSince: UInt64? = nil) {
        let status = producerStatus(topic, group: group, silent: true)
        // Marked and dispatched under the topic's lock, so a `live` for a batch that arrives
        // meanwhile is queued after this `stale`, never before it.
        let newly = topic.state.withLockedValue { state -> Bool in
            if let unheardSince, let heard = state.lastHeard[group], heard > unheardSince { return false }
            guard !state.closed, state.silent.insert(group).inserted else { return false }
            for index in state.activeShards { dispatch(.frames(status), topic: topic, shard: index) }
            return true
        }
        guard newly else { return }
        metrics.producerSilences.increment()
        noteError(XYErrorCode.producerSilent.rawValue)
        logger.warning("a group's producer is silent; subscribers are told the data is stale", metadata: [
            "code": "\(XYErrorCode.producerSilent)", "subject": "\(topic.subject)", "group": "\(group)",
        ])
    }

    /// Tells the topic's subscribers that `group`'s producer speaks again.
    private func producerRecovered(_ topic: Topic, group: String) {
        let status = producerStatus(topic, group: group, silent: false)
        topic.state.withLockedValue { state in
            for index in state.activeShards { dispatch(.frames(status), topic: topic, shard: index) }
        }
        logger.notice("a silent group's producer is back", metadata: ["subject": "\(topic.subject)", "group": "\(group)"])
    }

    /// The `status` frame of a group's producer: `stale` (XYW008) or `live`.
    private func producerStatus(_ topic: Topic, group: String, silent: Bool) -> EncodedFrames {
        // The group's own subject, also on a wildcard topic: the client tells groups apart.
        let subject = Topic.tickSubject(group: group)
        let control = silent
            ? MessageEncoder.Control(
                .status, subject: subject, code: XYErrorCode.producerSilent.rawValue,
                message: "no data for group \(group) from its producer", state: "stale")
            : MessageEncoder.Control(.status, subject: subject, state: "live")
        return encoder.control(control, nowNs: wallClockNanoseconds())
    }

    // MARK: NATS connection state

    /// Tells every connection that NATS went away (`degraded`, XYW004) or came back (`live`, then
    /// fresh snapshots of every group held).
    public func connectionEvent(_ event: NATSConnectionEvent) {
        switch event {
        case .disconnected, .closed:
            guard natsUp.exchange(false, ordering: .relaxed) else { return }
            noteError(XYErrorCode.natsUnavailable.rawValue)
            broadcastStatus(.init(.status, code: XYErrorCode.natsUnavailable.rawValue, state: "degraded"))
        case .connected, .reconnected:
            guard !natsUp.load(ordering: .relaxed) else { return }
            // The silence clocks start again (nothing could arrive while NATS was away), before the
            // watch may look again.
            let now = NIODeadline.now().uptimeNanoseconds
            for topic in topics.withLockedValue({ Array($0.values) }) {
                topic.state.withLockedValue { state in for group in state.lastHeard.keys { state.lastHeard[group] = now } }
            }
            guard !natsUp.exchange(true, ordering: .relaxed) else { return }
            broadcastStatus(.init(.status, state: "live"))
            let held: [(Topic, [String])] = topics.withLockedValue { topics in
                topics.values.filter { $0.kind == .ticks }.map { topic in
                    (topic, topic.state.withLockedValue { Array($0.caches.keys) })
                }
            }
            for (topic, groups) in held {
                for group in groups { requestSnapshot(topic, group: group, repair: true) }
            }
        default:
            break
        }
    }

    private func broadcastStatus(_ control: MessageEncoder.Control) {
        let frames = encoder.control(control, nowNs: wallClockNanoseconds())
        for shard in shards {
            shard.loop.execute { shard.broadcast(frames) }
        }
    }
}

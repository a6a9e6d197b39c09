import Atomics
import GatewayAuth
import Logging
import MarketData
import NIOCore
import NIOWebSocket
import XYContracts
import XYService

/// One browser connection after the upgrade, on its event loop: it answers requests through
/// ``ClientSessionStateMachine``, writes what the hub delivers (shared frames, no flush per
/// message), queues under its backpressure policy when the socket is full, resnapshots what it
/// lost, closes slow consumers (4008), pings, and reports itself on `xy.session.*`.
final class WebSocketSession: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = ByteBuffer

    /// A subscription of this connection: its topic and, per group, the last seq written (nil
    /// while it waits for a first snapshot).
    private struct Held {
        let topic: Topic
        var lastSent: [String: UInt64] = [:]
        var subscribedAt: NIODeadline?
    }

    /// The queue key: conflatable ticks share one per subject and group (`serial` 0).
    private struct QueueKey: Hashable {
        var subject: String
        var group: String?
        var serial: UInt64
    }

    /// What waits in the queue while the socket is full.
    private enum Pending {
        case frame(ByteBuffer)
        case tick(TickItem)
        /// Batches merged while queued; encoded for this connection when written.
        case merged(Xy_Md_V1_TickBatch)

        var lastSeq: UInt64? {
            switch self {
            case .frame: nil
            case .tick(let item): item.seq
            case .merged(let batch): batch.seq
            }
        }
    }

    private let hub: FanoutHub
    private let shard: LoopShard
    private let configuration: GatewayConfiguration
    private let upgrade: AuthenticatedUpgrade
    private let encoding: FrameEncoding
    private let sessionEvents: SessionEventPublisher
    private let metrics: GatewayMetrics
    private let logger: Logger
    let sessionID: String
    let remoteAddress: String

    private var context: ChannelHandlerContext?
    private var rules: ClientSessionStateMachine
    private var held: [ObjectIdentifier: Held] = [:]
    private var topicsBySubject: [String: Topic] = [:]
    private var queue: ConflatingQueue<QueueKey, Pending>?
    private var queuedBytes = 0
    private var queueSerial: UInt64 = 0
    private var control: [ByteBuffer] = []
    /// Subject and group pairs that lost batches to the queue policy: resnapshot once drained.
    private var lost: Set<QueueKey> = []
    private var needsFlush = false
    private var flushRequested = false
    private var outstandingPings = 0
    private var lastInbound = NIODeadline.now()
    private var heartbeat: RepeatedTask?
    private var slowConsumerTimer: Scheduled<Void>?
    private var closing = false
    private var tornDown = false
    private var draining = false
    /// The channel's writability as its last `channelWritabilityChanged` said (NIO fires it
    /// synchronously when a write crosses the high-water mark): read per frame without going
    /// through the pipeline to the channel's atomic.
    private var writable = true
    private var unflushedBytes = 0
    /// Unflushed bytes after which a write flushes at once instead of at the end of the loop turn.
    static let eagerFlushBytes = 256 * 1024
    private var closeReason = "client closed"

    init(
        hub: FanoutHub, shard: LoopShard, configuration: GatewayConfiguration, upgrade: AuthenticatedUpgrade,
        sessionEvents: SessionEventPublisher, sessionID: String, remoteAddress: String, logger: Logger
    ) {
        self.hub = hub
        self.shard = shard
        self.configuration = configuration
        self.upgrade = upgrade
        self.encoding = FrameEncoding(subprotocol: upgrade.applicationSubprotocol)
        self.sessionEvents = sessionEvents
        self.metrics = hub.metrics
        self.sessionID = sessionID
        self.remoteAddress = remoteAddress
        self.logger = logger
        let grants = upgrade.grants
        self.rules = ClientSessionStateMachine(
            maxSubscriptions: upgrade.claims.maxSubscriptions ?? configuration.maxSubscriptions
        ) { subject in
            do throws(GatewayAuthError) {
                try grants.authorize(subject)
            } catch {
                return (code: .subjectDenied, message: error.message)
            }
            guard TopicKind(subject: subject) != nil else {
                return (code: .subjectDenied, message: "the gateway forwards xy.md.tick.*, xy.md.snapshot.* and xy.md.bar.* subjects")
            }
            return nil
        }
    }

    // MARK: lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        writable = context.channel.isWritable
        shard.add(self)
        metrics.activeConnections.increment()
        hub.clients.wrappingIncrement(ordering: .relaxed)
        let interval = TimeAmount.nanoseconds(Self.nanoseconds(configuration.pingInterval))
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        heartbeat = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            bound.value.heartbeatTick()
        }
        sessionEvents.publish(.connected, session: self, subject: upgrade.claims.subject, reason: "")
        if !hub.isNATSConnected {
            sendShared(hub.encoder.control(.init(.status, code: XYErrorCode.natsUnavailable.rawValue, state: "degraded"), nowNs: Self.now()))
            flushNow()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        tearDown()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        tearDown()
        self.context = nil
    }

    private func tearDown() {
        guard context != nil, !tornDown else { return }
        tornDown = true
        heartbeat?.cancel()
        heartbeat = nil
        slowConsumerTimer?.cancel()
        slowConsumerTimer = nil
        for entry in held.values { hub.unsubscribe(self, topic: entry.topic, encoding: encoding, shard: shard) }
        held.removeAll()
        topicsBySubject.removeAll()
        _ = rules.closed()
        queue = nil
        control.removeAll()
        shard.remove(self)
        metrics.activeConnections.decrement()
        hub.clients.wrappingDecrement(ordering: .relaxed)
        sessionEvents.publish(.disconnected, session: self, subject: upgrade.claims.subject, reason: closeReason)
    }

    // MARK: inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        lastInbound = .now()
        switch frame.opcode {
        case .text:
            let payload = frame.unmaskedData
            guard String(validating: payload.readableBytesView, as: UTF8.self) != nil else {
                close(code: 1007, reason: "text frame is not valid UTF-8")
                return
            }
            do {
                handle(rules.received(try ClientRequest.parse(payload)))
            } catch {
                handle(rules.malformed(error.reason))
            }
        case .binary:
            guard encoding == .proto else {
                handle(rules.malformed("binary frames are requests only on xy.v1.proto; send JSON text"))
                return
            }
            let payload = frame.unmaskedData
            do {
                handle(rules.received(try Self.request(fromProto: payload)))
            } catch {
                handle(rules.malformed(error.reason))
            }
        case .ping:
            var payload = frame.unmaskedData
            let bytes = payload.readSlice(length: min(payload.readableBytes, 125)) ?? ByteBuffer()
            writeControlFrame(WebSocketWire.frame(.pong, payload: bytes))
        case .pong:
            outstandingPings = 0
        case .connectionClose:
            var payload = frame.unmaskedData
            let code = payload.readInteger(as: UInt16.self) ?? 1000
            closeReason = "client closed (\(code))"
            close(code: code == 1005 || code == 1006 || code == 1015 ? 1000 : code, reason: "")
        default:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushNow()
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch error {
        case NIOWebSocketError.invalidFrameLength, NIOWebSocketFrameAggregator.Error.accumulatedFrameSizeIsTooLarge:
            metrics.closedByPolicy.increment()
            closeReason = "\(XYErrorCode.malformedClientMessage) message too large"
            close(code: 1009, reason: "message larger than \(configuration.maxInboundMessageBytes) bytes")
        case is NIOWebSocketError, is NIOWebSocketFrameAggregator.Error:
            close(code: 1002, reason: "protocol error")
        default:
            closeReason = "connection error"
            context.close(promise: nil)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        writable = context.channel.isWritable
        if writable {
            slowConsumerTimer?.cancel()
            slowConsumerTimer = nil
            drain()
        } else if slowConsumerTimer == nil, !closing {
            let timeout = TimeAmount.nanoseconds(Self.nanoseconds(configuration.slowConsumerTimeout))
            slowConsumerTimer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [weak self] in
                self?.slowConsumer()
            }
        }
        context.fireChannelWritabilityChanged()
    }

    private func handle(_ actions: [ClientSessionStateMachine.Action]) {
        for action in actions {
            switch action {
            case .subscribe(let subject, let id):
                subscribe(subject, id: id)
            case .unsubscribe(let subject, let id):
                if let topic = topicsBySubject.removeValue(forKey: subject) {
                    held[ObjectIdentifier(topic)] = nil
                    hub.unsubscribe(self, topic: topic, encoding: encoding, shard: shard)
                }
                writeControl(.init(.unsubscribed, subject: subject, id: id))
            case .confirm(let type, let subject, let id):
                writeControl(.init(type == "subscribed" ? .subscribed : .unsubscribed, subject: subject, id: id))
            case .pong(let id):
                writeControl(.init(.pong, id: id))
            case .error(let code, let message, let subject, let id):
                writeControl(.init(.error, subject: subject, id: id, code: code.rawValue, message: message))
            case .close(let code, let reason):
                metrics.closedByPolicy.increment()
                closeReason = "\(XYErrorCode.malformedClientMessage) \(reason)"
                close(code: code, reason: reason)
            }
        }
    }

    private func subscribe(_ subject: String, id: String?) {
        guard let kind = TopicKind(subject: subject) else { return }
        do {
            let (topic, initial) = try hub.subscribe(self, subject: subject, kind: kind, encoding: encoding, shard: shard)
            topicsBySubject[subject] = topic
            held[ObjectIdentifier(topic)] = Held(topic: topic, subscribedAt: .now())
            writeControl(.init(.subscribed, subject: subject, id: id))
            for delivery in initial { _ = deliver(delivery, topic: topic) }
        } catch {
            // The state machine counted it; give the slot back.
            _ = rules.received(.unsubscribe(subject: subject, id: nil))
            writeControl(.init(.error, subject: subject, id: id, code: XYErrorCode.natsUnavailable.rawValue, message: "cannot subscribe now: NATS unavailable"))
        }
    }

    static func request(fromProto payload: ByteBuffer) throws(ClientRequest.ParseError) -> ClientRequest {
        guard payload.readableBytes <= ClientRequest.maximumLength,
            let request = try? Xy_Gateway_V1_ClientRequest(serializedBytes: Array(payload.readableBytesView))
        else { throw ClientRequest.ParseError(reason: "not an xy.gateway.v1.ClientRequest") }
        let id = request.id.isEmpty ? nil : request.id
        switch request.op {
        case .subscribe: return .subscribe(subject: request.subject, id: id)
        case .unsubscribe: return .unsubscribe(subject: request.subject, id: id)
        case .ping: return .ping(id: id)
        case .unspecified, .UNRECOGNIZED: throw ClientRequest.ParseError(reason: "unknown op (subscribe, unsubscribe, ping)")
        }
    }

    // MARK: outbound

    /// Called by the shard on this loop; true when a data frame was written or queued.
    func deliver(_ delivery: Delivery, topic: Topic) -> Bool {
        // `held` is mutated in place (never copied out and back): a copied entry would copy its
        // `lastSent` dictionary on every frame, for every connection.
        let topicKey = ObjectIdentifier(topic)
        guard context != nil, !closing, held[topicKey] != nil else { return false }
        switch delivery {
        case .tick(let item):
            guard let last = held[topicKey]?.lastSent[item.group], item.seq > last else { return false }
            held[topicKey]!.lastSent[item.group] = item.seq
            enqueue(.tick(item), subject: topic.subject, group: item.group, conflatable: true, size: item.json.readableBytes)
        case .snapshot(let snapshot, let replay, let repair):
            guard repair || held[topicKey]?.lastSent[snapshot.group] == nil else { return false }
            let frame = snapshot.frame(encoding, encoder: hub.encoder, nowNs: Self.now())
            enqueue(.frame(frame), subject: topic.subject, group: snapshot.group, conflatable: false, size: frame.readableBytes)
            var last = snapshot.seq
            for item in replay where item.seq > last {
                enqueue(.tick(item), subject: topic.subject, group: item.group, conflatable: true, size: item.json.readableBytes)
                last = item.seq
            }
            // Optional: a flush inside enqueue can close the channel (a reset peer) and tear the
            // connection down, emptying `held`.
            held[topicKey]?.lastSent[snapshot.group] = last
            recordFirstMessage(topicKey)
        case .frames(let frames):
            let frame = frames[encoding]
            enqueue(.frame(frame), subject: topic.subject, group: nil, conflatable: false, size: frame.readableBytes)
            recordFirstMessage(topicKey)
        }
        return true
    }

    private func recordFirstMessage(_ topicKey: ObjectIdentifier) {
        guard let start = held[topicKey]?.subscribedAt else { return }
        held[topicKey]!.subscribedAt = nil
        metrics.firstMessage.recordNanoseconds((NIODeadline.now() - start).nanoseconds)
    }

    /// A frame every connection of the loop gets (status), ahead of queued data.
    func sendShared(_ frames: EncodedFrames) {
        guard context != nil, !closing else { return }
        writeControlFrame(frames[encoding])
    }

    /// Writes what was written since the last flush (the shard calls it once per loop turn).
    func flushNow() {
        flushRequested = false
        guard needsFlush, let context else { return }
        needsFlush = false
        unflushedBytes = 0
        context.flush()
    }

    private func key(_ subject: String, group: String?, conflatable: Bool) -> QueueKey {
        if conflatable, configuration.backpressure == .conflate {
            return QueueKey(subject: subject, group: group, serial: 0)
        }
        queueSerial &+= 1
        return QueueKey(subject: subject, group: group, serial: queueSerial)
    }

    private func writeControl(_ control: MessageEncoder.Control) {
        writeControlFrame(hub.encoder.control(control, nowNs: Self.now())[encoding])
    }

    private func writeControlFrame(_ frame: ByteBuffer) {
        guard context != nil else { return }
        if control.isEmpty, queue?.isEmpty ?? true, writable {
            write(frame)
        } else {
            control.append(frame)
            if writable { drain() }
        }
    }

    private func write(_ frame: ByteBuffer) {
        guard let context else { return }
        context.write(wrapOutboundOut(frame), promise: nil)
        needsFlush = true
        unflushedBytes += frame.readableBytes
        if unflushedBytes >= Self.eagerFlushBytes {
            // A long run of deliveries in one loop turn: let the socket take some now.
            flushNow()
            return
        }
        if !flushRequested {
            flushRequested = true
            shard.scheduleFlush(self)
        }
    }

    private func write(_ pending: Pending) {
        switch pending {
        case .frame(let frame):
            write(frame)
        case .tick(let item):
            write(item.frame(encoding, encoder: hub.encoder, nowNs: Self.now()))
        case .merged(let batch):
            write(hub.encoder.tickFrame(batch, subject: Topic.tickSubject(group: batch.group), nowNs: Self.now(), encoding))
        }
    }

    /// Writes at once when nothing waits and the socket has room (the common case, with no
    /// queue key built); otherwise queues under the backpressure policy.
    private func enqueue(_ pending: Pending, subject: String, group: String?, conflatable: Bool, size: Int) {
        guard context != nil else { return }
        if group != nil, !lost.isEmpty, lost.contains(QueueKey(subject: subject, group: group, serial: 0)) {
            // This group already lost batches: anything newer would show the client a hole; the
            // fresh snapshot sent once the queue drains supersedes it.
            metrics.droppedOldest.increment()
            return
        }
        if control.isEmpty, queue?.isEmpty ?? true, lost.isEmpty, writable {
            write(pending)
            return
        }
        let key = key(subject, group: group, conflatable: conflatable)
        if queue == nil {
            queue = try? ConflatingQueue(
                capacity: configuration.queueMaxMessages,
                policy: configuration.backpressure == .dropNewest ? .dropNewest : .dropOldest)
        }
        guard queue != nil else { return }
        // The byte bound: make room first (or refuse the new one under drop_newest).
        while queuedBytes + size > configuration.queueMaxBytes, !(queue?.isEmpty ?? true) {
            if configuration.backpressure == .dropNewest {
                dropped(key, reason: .newest)
                return
            }
            if let evicted = queue?.dequeue() {
                queuedBytes -= Self.size(of: evicted.element)
                dropped(evicted.key, reason: .oldest)
            }
        }
        let result = queue!.enqueue(pending, for: key) { queued, new in
            guard case .tick(let next) = new else {
                queued = new
                return
            }
            var batch: Xy_Md_V1_TickBatch
            switch queued {
            case .tick(let item): batch = item.batch
            case .merged(let merged): batch = merged
            case .frame: batch = Xy_Md_V1_TickBatch()
            }
            if next.firstSeq > batch.seq + 1 || batch.seq == 0 {
                // Never merge across a gap: the client would see a contiguous range over a hole.
                lost.insert(QueueKey(subject: key.subject, group: key.group, serial: 0))
                queued = .tick(next)
            } else {
                batch.merge(next: next.batch)
                queued = .merged(batch)
            }
        }
        switch result {
        case .enqueued:
            queuedBytes += size
        case .conflated:
            metrics.droppedConflated.increment()
        case .droppedOldest(let evicted):
            queuedBytes += size
            dropped(evicted, reason: .oldest)
        case .droppedNewest:
            dropped(key, reason: .newest)
        case .overflow:
            dropped(key, reason: .newest)
        }
        metrics.sendQueueSize.record(queue?.count ?? 0)
        // Queued behind control frames or a pending resnapshot while the socket has room: go now.
        if writable, !draining { drain() }
    }

    private enum DropReason { case oldest, newest }

    private func dropped(_ key: QueueKey, reason: DropReason) {
        switch reason {
        case .oldest: metrics.droppedOldest.increment()
        case .newest: metrics.droppedNewest.increment()
        }
        if key.group != nil { lost.insert(QueueKey(subject: key.subject, group: key.group, serial: 0)) }
    }

    private static func size(of pending: Pending) -> Int {
        switch pending {
        case .frame(let frame): frame.readableBytes
        case .tick(let item): item.json.readableBytes
        case .merged(let batch): 64 + batch.ticks.count * 200
        }
    }

    /// Writes queued frames while the socket takes them; once empty, resnapshots lost groups.
    private func drain() {
        guard context != nil, !draining else { return }
        draining = true
        defer { draining = false }
        while writable, !control.isEmpty {
            write(control.removeFirst())
        }
        while writable, let next = queue?.dequeue() {
            queuedBytes -= Self.size(of: next.element)
            if next.key.group != nil, !lost.isEmpty, lost.contains(QueueKey(subject: next.key.subject, group: next.key.group, serial: 0)) {
                // Queued after the hole: superseded by the resnapshot below.
                continue
            }
            write(next.element)
        }
        if queue?.isEmpty ?? true {
            queuedBytes = 0
            if !lost.isEmpty, writable { resnapshotLost() }
        }
        flushNow()
    }

    /// A fresh snapshot (and the batches after it) for every group this connection lost, so its
    /// state is whole again rather than silently broken.
    private func resnapshotLost() {
        let groups = lost
        lost.removeAll()
        for entry in groups {
            guard let topic = topicsBySubject[entry.subject], let group = entry.group else { continue }
            let replay = topic.lock.withLock { topic.caches[group]?.replay }
            metrics.resnapshots.increment()
            if let replay {
                _ = deliver(.snapshot(replay.snapshot, replay: replay.batches, repair: true), topic: topic)
            } else {
                // No base right now: wait for the next snapshot the hub delivers to waiting subscribers.
                held[ObjectIdentifier(topic)]?.lastSent[group] = nil
                hub.requestSnapshot(topic, group: group, repair: false)
            }
        }
    }

    // MARK: timers and closing

    /// The gateway is stopping: sends 1001 and returns the socket's close, for the server to await.
    func goingAway() -> EventLoopFuture<Void>? {
        closeReason = "gateway shutting down"
        close(code: 1001, reason: "gateway shutting down")
        return context?.channel.closeFuture
    }

    private func heartbeatTick() {
        guard context != nil, !closing else { return }
        if outstandingPings >= 2 {
            closeReason = "missed pongs"
            close(code: 1001, reason: "no pong to two pings")
            return
        }
        if held.isEmpty, NIODeadline.now() - lastInbound > .nanoseconds(Self.nanoseconds(configuration.idleTimeout)) {
            closeReason = "idle"
            close(code: 1000, reason: "idle")
            return
        }
        outstandingPings += 1
        writeControlFrame(WebSocketWire.frame(.ping, payload: ByteBuffer()))
        flushNow()
    }

    private func slowConsumer() {
        slowConsumerTimer = nil
        guard let context, !context.channel.isWritable, !closing else { return }
        metrics.slowConsumers.increment()
        hub.noteError(XYErrorCode.backpressure.rawValue)
        metrics.droppedSlowConsumer.increment(by: queue?.count ?? 0)
        closeReason = "\(XYErrorCode.backpressure) slow consumer"
        logger.warning("slow consumer closed", metadata: [
            "code": "\(XYErrorCode.backpressure)", "session": "\(sessionID)", "queued": "\(queue?.count ?? 0)",
        ])
        queue = nil
        control.removeAll()
        close(code: 4008, reason: "\(XYErrorCode.backpressure) slow consumer", waitForWrite: false)
    }

    /// Sends a close frame and closes the connection once it is written (at most 2 s later).
    private func close(code: UInt16, reason: String, waitForWrite: Bool = true) {
        guard let context, !closing else { return }
        closing = true
        let done = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(WebSocketWire.close(code: code, reason: reason)), promise: waitForWrite ? done : nil)
        if !waitForWrite { done.succeed() }
        let deadline = context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(2)) { context.close(promise: nil) }
        done.futureResult.assumeIsolated().whenComplete { _ in
            deadline.cancel()
            context.close(promise: nil)
        }
    }

    static func now() -> Int64 { Int64(WallClock.unixNow()) }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

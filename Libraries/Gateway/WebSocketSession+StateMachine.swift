import DequeModule
import MarketData
import NIOCore
import XYContracts
import XYCore

extension WebSocketSession {
    /// Every decision one browser connection makes, as a value with no I/O: what to write, queue,
    /// drop, resnapshot or close, and when to stop reading. ``WebSocketSession`` feeds it events
    /// (a frame delivered, a request read, writability, timers, the socket closing) and performs
    /// the actions it returns, so each rule is tested with plain values.
    ///
    /// States: `open` (normal), `draining` (an orderly close is decided: what is queued still goes
    /// out, nothing new is accepted, then the close frame), `closing` (the close frame is written
    /// or on its way; waiting for the socket to close), `closed`. Nothing is subscribed, queued or
    /// answered once the state has left `open`.
    ///
    /// Generic over the topic's identity so tests use plain values (`String`) where the handler
    /// uses `ObjectIdentifier(Topic)`.
    struct StateMachine<TopicID: Hashable> {
        /// A WebSocket close frame: status code and reason.
        struct CloseFrame: Hashable, Sendable {
            var code: UInt16
            var reason: String
        }

        enum State: Hashable {
            case open
            case draining(CloseFrame, cause: CloseCause)
            case closing(CloseFrame)
            case closed
        }

        /// Something to write: already encoded, or encoded for this connection's subprotocol when written.
        enum Outbound {
            /// Forwarded as is (bars, snapshots on their own subject, shared status frames).
            case encoded(EncodedFrames)
            case tick(TickItem)
            /// Batches merged while queued.
            case merged(Xy_Md_V1_TickBatch)
            case snapshot(SnapshotItem)
            /// A reply to a request (`subscribed`, `pong`, `error`, …).
            case reply(MessageEncoder.Control)
            /// The WebSocket pong to a client's ping, with its payload.
            case pong(ByteBuffer)
            /// The heartbeat's WebSocket ping.
            case ping
        }

        /// Counted drops of one delivery (conflated into a queued batch, evicted, refused).
        struct Drops: Hashable, Sendable {
            var conflated = 0
            var oldest = 0
            var newest = 0

            var isEmpty: Bool { conflated == 0 && oldest == 0 && newest == 0 }
        }

        /// What a delivery does; the hot path, so one small value rather than an array.
        enum DeliverAction {
            /// Not for this connection (not held, already sent, closing, another epoch).
            case ignore
            /// Write this now (nothing waits, the socket has room).
            case write(Outbound)
            /// Queued behind others (and maybe dropped some): drain when the socket has room.
            case queued(Drops)
        }

        /// Why the connection closes, for logs, metrics and the session event.
        enum CloseCause: Hashable, Sendable {
            case client(code: UInt16)
            case protocolViolation
            case policy
            case slowConsumer(dropped: Int)
            case missedPongs
            case idle
            case tokenExpired
            case goingAway
            case controlOverflow
        }

        enum Action {
            case write(Outbound)
            /// Subscribe the hub, then report ``subscribed(_:topic:id:)`` or ``subscribeFailed(_:id:)``.
            case subscribe(subject: String, id: String?)
            /// Leave the topic (the last connection out drops its NATS subscription).
            case unsubscribe(TopicID)
            /// Send this group's replay from the topic's cache, or ask for a snapshot when it has none.
            case resnapshot(TopicID, subject: String, group: String)
            /// Write the close frame; report ``closeWritten()`` once it is out.
            case sendClose(CloseFrame, cause: CloseCause)
            /// Close the socket now.
            case closeChannel
            /// Half-close: FIN after what was written, then read (and discard) until the client
            /// closes or the close deadline. Closing outright with unread input would make the
            /// kernel send RST, which destroys the close frame and data the client has not read yet.
            case shutdownOutput
            case armSlowConsumerTimer
            case cancelSlowConsumerTimer
            /// Start the deadline after which a close that was not acknowledged closes the socket.
            case armCloseDeadline
            case stopReading
            case resumeReading
            /// Write everything queued while the socket takes it.
            case drain
            /// Drops to count (the backpressure policy or a slow consumer).
            case dropped(Drops)
        }

        /// The box ``queue`` lives in.
        final class QueueBox {
            var queue: ConflatingQueue<QueueKey, Outbound>?
            init(_ queue: ConflatingQueue<QueueKey, Outbound>?) { self.queue = queue }
        }

        /// A queued data frame's key: conflatable ticks share one per subject, group and base
        /// (`serial` 0), so a batch never merges into one queued before the snapshot that follows it.
        struct QueueKey: Hashable {
            var subject: String
            var group: String?
            var base: UInt64 = 0
            var serial: UInt64

            /// The group's identity, whatever the base and serial (the `lost` set's key).
            var group0: QueueKey { QueueKey(subject: subject, group: group, serial: 0) }
        }

        /// A group's position: what the client has, in which producer epoch.
        struct Position: Hashable {
            var epoch: UInt64
            var seq: UInt64
        }

        /// A topic this connection holds.
        struct Held {
            let subject: String
            /// Per group; absent while the group waits for its first snapshot.
            var positions: [String: Position] = [:]
        }

        private(set) var state: State = .open
        private var rules: ClientRequestRules
        private let settings: Settings
        private var held: [TopicID: Held] = [:]
        private var topicsBySubject: [String: TopicID] = [:]
        /// Replies and pings, written ahead of data.
        private var control: Deque<Outbound> = []
        /// The data queue, kept out of line: most connections never queue, and an idle
        /// connection's size is what 10,000 of them cost.
        private var queueBox: QueueBox?
        private var queue: ConflatingQueue<QueueKey, Outbound>? {
            get { queueBox?.queue }
            _modify {
                // Copy on write, so the machine stays a value.
                if queueBox == nil {
                    queueBox = QueueBox(nil)
                } else if !isKnownUniquelyReferenced(&queueBox!) {
                    queueBox = QueueBox(queueBox!.queue)
                }
                yield &queueBox!.queue
                if queueBox!.queue == nil { queueBox = nil }
            }
        }
        private var queuedBytes = 0
        private var queueSerial: UInt64 = 0
        /// Subject and group pairs that lost frames to the queue policy: resnapshot once drained.
        private var lost: Set<QueueKey> = []
        /// Per group, the base (snapshot) its queued batches follow; bumped by each queued snapshot.
        private var bases: [QueueKey: UInt64] = [:]
        private(set) var writable = true
        private(set) var readingPaused = false
        private var slowConsumerTimerArmed = false
        private var outstandingPings = 0
        /// Data was written since the client last answered a ping: a client that stops answering
        /// with data owed to it is a slow consumer, not merely a silent one.
        private var dataSincePong = false
        private var lastInbound: ContinuousClock.Instant

        /// `maxSubscriptions` is this connection's (the token's `max_subs`, else the gateway's).
        init(settings: Settings, maxSubscriptions: Int, now: ContinuousClock.Instant, authorize: @escaping ClientRequestRules.Authorizer) {
            self.settings = settings
            self.rules = ClientRequestRules(maxSubscriptions: maxSubscriptions, maxStrikes: settings.maxStrikes, authorize: authorize)
            self.lastInbound = now
        }

        /// Subjects held or being subscribed (the quota's view).
        var subjects: Set<String> { rules.subjects }
        /// Frames waiting (replies and data).
        var queuedCount: Int { control.count + (queue?.count ?? 0) }
        var isOpen: Bool { state == .open }

        // MARK: requests

        /// A frame arrived from the client (anything, for the idle rule).
        mutating func inbound(now: ContinuousClock.Instant) {
            lastInbound = now
        }

        /// A parsed request.
        mutating func received(_ request: ClientRequest) -> [Action] {
            guard case .open = state else { return [] }
            var actions: [Action] = []
            for decision in rules.received(request) {
                switch decision {
                case .subscribe(let subject, let id):
                    actions.append(.subscribe(subject: subject, id: id))
                case .unsubscribe(let subject, let id):
                    if let topic = topicsBySubject.removeValue(forKey: subject) {
                        held[topic] = nil
                        forgetQueued(subject: subject)
                        actions.append(.unsubscribe(topic))
                    }
                    reply(.init(.unsubscribed, subject: subject, id: id), into: &actions)
                case .confirm(let type, let subject, let id):
                    reply(.init(type == "subscribed" ? .subscribed : .unsubscribed, subject: subject, id: id), into: &actions)
                case .pong(let id):
                    reply(.init(.pong, id: id), into: &actions)
                case .error(let code, let message, let subject, let id):
                    reply(.init(.error, subject: subject, id: id, code: code.rawValue, message: message), into: &actions)
                case .close(let code, let reason):
                    actions += close(CloseFrame(code: code, reason: reason), cause: .policy, orderly: true)
                }
            }
            return actions
        }

        /// A frame that is not a request (bad JSON, unknown op, binary on the JSON subprotocol).
        mutating func malformed(_ reason: String) -> [Action] {
            guard case .open = state else { return [] }
            var actions: [Action] = []
            for decision in rules.malformed(reason) {
                switch decision {
                case .error(let code, let message, let subject, let id):
                    reply(.init(.error, subject: subject, id: id, code: code.rawValue, message: message), into: &actions)
                case .close(let code, let reason):
                    actions += close(CloseFrame(code: code, reason: reason), cause: .policy, orderly: true)
                case .subscribe, .unsubscribe, .confirm, .pong:
                    break
                }
            }
            return actions
        }

        /// The hub now delivers `subject` to this connection as `topic`.
        mutating func subscribed(_ subject: String, topic: TopicID, id: String?) -> [Action] {
            guard case .open = state else {
                // Closing started while the hub subscribed: let go at once.
                return [.unsubscribe(topic)]
            }
            topicsBySubject[subject] = topic
            held[topic] = Held(subject: subject)
            var actions: [Action] = []
            reply(.init(.subscribed, subject: subject, id: id), into: &actions)
            return actions
        }

        /// The hub could not subscribe (NATS unavailable): the slot is given back.
        mutating func subscribeFailed(_ subject: String, id: String?) -> [Action] {
            _ = rules.received(.unsubscribe(subject: subject, id: nil))
            guard case .open = state else { return [] }
            var actions: [Action] = []
            reply(.init(.error, subject: subject, id: id, code: XYErrorCode.natsUnavailable.rawValue, message: "cannot subscribe now: NATS unavailable"), into: &actions)
            return actions
        }

        /// A WebSocket ping from the client.
        mutating func pingFrame(_ payload: ByteBuffer) -> [Action] {
            switch state {
            case .open, .draining:
                var actions: [Action] = []
                enqueueControl(.pong(payload), into: &actions)
                return actions
            case .closing, .closed:
                return []
            }
        }

        /// A WebSocket pong (the answer to the heartbeat).
        mutating func pongFrame() {
            outstandingPings = 0
            dataSincePong = false
        }

        /// A close frame from the client: `code` nil when it had no payload. Invalid codes are a
        /// protocol error (RFC 6455 §7.4); otherwise the close is echoed and the socket closed.
        mutating func closeFrame(code: UInt16?, payloadLength: Int, reasonIsUTF8: Bool) -> [Action] {
            switch state {
            case .closing:
                // The client's answer to our close.
                return [.closeChannel]
            case .closed:
                return []
            case .open, .draining:
                break
            }
            if payloadLength == 1 {
                return close(CloseFrame(code: 1002, reason: "close frame payload of one byte"), cause: .protocolViolation, orderly: false)
            }
            if let code, !Self.isValidReceivedCloseCode(code) {
                return close(CloseFrame(code: 1002, reason: "invalid close code \(code)"), cause: .protocolViolation, orderly: false)
            }
            if !reasonIsUTF8 {
                return close(CloseFrame(code: 1007, reason: "close reason is not valid UTF-8"), cause: .protocolViolation, orderly: false)
            }
            // Echo the client's code; RFC 6455 §5.5.1: what was queued may be discarded.
            return close(CloseFrame(code: code ?? 1000, reason: ""), cause: .client(code: code ?? 1005), orderly: false)
        }

        /// RFC 6455 §7.4: the codes an endpoint may receive in a close frame.
        static func isValidReceivedCloseCode(_ code: UInt16) -> Bool {
            switch code {
            case 1000...1003, 1007...1014: true
            case 3000...4999: true
            default: false
            }
        }

        /// The client broke the WebSocket protocol (unmasked frame, reserved bits or opcodes, bad
        /// UTF-8, a message too large): close at once with `code`.
        mutating func protocolViolation(code: UInt16, reason: String) -> [Action] {
            guard state == .open || isDraining else { return [] }
            return close(CloseFrame(code: code, reason: reason), cause: .protocolViolation, orderly: false)
        }

        // MARK: deliveries

        /// The hot path: a frame the hub delivers for `topic`.
        mutating func deliver(_ delivery: Delivery, topic: TopicID) -> DeliverAction {
            guard case .open = state, let subject = held[topic]?.subject else { return .ignore }
            switch delivery {
            case .tick(let item):
                guard let position = held[topic]?.positions[item.group], position.epoch == item.epoch, item.seq > position.seq else {
                    return .ignore
                }
                held[topic]!.positions[item.group] = Position(epoch: item.epoch, seq: item.seq)
                return enqueue(.tick(item), subject: subject, group: item.group, conflatable: true, size: item.json.readableBytes)
            case .snapshot(let snapshot, let replay, let repair):
                guard repair || held[topic]?.positions[snapshot.group] == nil else { return .ignore }
                var drops = Drops()
                let group = snapshot.group
                let group0 = QueueKey(subject: subject, group: group, serial: 0)
                // A base replaces whatever the group lost or still has queued before it.
                lost.remove(group0)
                if queueBox != nil {
                    for superseded in queue!.remove(where: { $0.group0 == group0 }) { queuedBytes -= Self.size(of: superseded) }
                }
                queueSerial &+= 1
                bases[group0] = queueSerial
                // The base and its replay always go in whole (at most two entries: the replay merged),
                // so they never evict each other and a resnapshot cannot overflow into another one.
                add(.snapshot(snapshot), key: nextKey(subject, group: group), size: snapshot.json.readableBytes, bounded: true, drops: &drops)
                var last = snapshot.seq
                var merged: Xy_Md_V1_TickBatch?
                var single: TickItem?
                for item in replay where item.epoch == snapshot.epoch && item.seq > last {
                    if merged == nil, single == nil {
                        single = item
                    } else {
                        if merged == nil, let first = single { merged = first.batch }
                        merged!.merge(next: item.batch)
                        single = nil
                    }
                    last = item.seq
                }
                if let single {
                    add(.tick(single), key: nextKey(subject, group: group), size: single.json.readableBytes, bounded: false, drops: &drops)
                } else if let merged {
                    add(.merged(merged), key: nextKey(subject, group: group), size: Self.size(of: .merged(merged)), bounded: false, drops: &drops)
                }
                held[topic]!.positions[group] = Position(epoch: snapshot.epoch, seq: last)
                return .queued(drops)
            case .frames(let frames):
                return enqueue(.encoded(frames), subject: subject, group: nil, conflatable: false, size: frames.json.readableBytes)
            }
        }

        /// A frame every connection gets (status), ahead of queued data.
        mutating func shared(_ frames: EncodedFrames) -> [Action] {
            guard case .open = state else { return [] }
            var actions: [Action] = []
            enqueueControl(.encoded(frames), into: &actions)
            return actions
        }

        /// A resnapshot found no base in the topic's cache: the group waits for the next snapshot.
        mutating func awaitSnapshot(topic: TopicID, group: String) {
            held[topic]?.positions[group] = nil
        }

        /// The position of `group` in `topic` (tests and diagnostics).
        func position(topic: TopicID, group: String) -> Position? {
            held[topic]?.positions[group]
        }

        private mutating func enqueue(_ outbound: Outbound, subject: String, group: String?, conflatable: Bool, size: Int) -> DeliverAction {
            if let group, !lost.isEmpty, lost.contains(QueueKey(subject: subject, group: group, serial: 0)) {
                // This group already lost frames: anything newer would show the client a hole; the
                // fresh snapshot sent once the queue drains supersedes it.
                return .queued(Drops(oldest: 1))
            }
            if control.isEmpty, queue?.isEmpty ?? true, lost.isEmpty, writable {
                dataSincePong = true
                return .write(outbound)
            }
            var drops = Drops()
            add(outbound, key: key(subject, group: group, conflatable: conflatable), size: size, drops: &drops)
            return .queued(drops)
        }

        private mutating func key(_ subject: String, group: String?, conflatable: Bool) -> QueueKey {
            if conflatable, settings.backpressure == .conflate {
                let group0 = QueueKey(subject: subject, group: group, serial: 0)
                return QueueKey(subject: subject, group: group, base: bases[group0] ?? 0, serial: 0)
            }
            return nextKey(subject, group: group)
        }

        private mutating func nextKey(_ subject: String, group: String?) -> QueueKey {
            queueSerial &+= 1
            return QueueKey(subject: subject, group: group, serial: queueSerial)
        }

        /// Queues under the backpressure policy and its byte bound.
        /// `bounded` false: the byte bound makes no room by evicting (the replay right after its base).
        private mutating func add(_ outbound: Outbound, key: QueueKey, size: Int, bounded: Bool = true, drops: inout Drops) {
            if queue == nil {
                // Room for a base and its replay at least.
                queue = ConflatingQueue(
                    capacity: max(2, settings.queueMaxMessages),
                    policy: settings.backpressure == .dropNewest ? .dropNewest : .dropOldest)
            }
            guard queue != nil else { return }
            while bounded, queuedBytes + size > settings.queueMaxBytes, !(queue?.isEmpty ?? true) {
                if settings.backpressure == .dropNewest {
                    dropped(key, newest: true, drops: &drops)
                    return
                }
                if let evicted = queue?.dequeue() {
                    queuedBytes -= Self.size(of: evicted.element)
                    dropped(evicted.key, newest: false, drops: &drops)
                }
            }
            var gapped = false
            let result = queue!.enqueue(outbound, for: key) { queued, new in
                guard case .tick(let next) = new else {
                    queued = new
                    return
                }
                var batch: Xy_Md_V1_TickBatch
                switch queued {
                case .tick(let item): batch = item.batch
                case .merged(let merged): batch = merged
                case .encoded, .snapshot, .reply, .pong, .ping: batch = Xy_Md_V1_TickBatch()
                }
                if next.firstSeq > batch.seq + 1 || batch.seq == 0 || next.epoch != batch.epoch {
                    // Never merge across a gap or an epoch: the client would see a contiguous range over a hole.
                    gapped = true
                    queued = .tick(next)
                } else {
                    batch.merge(next: next.batch)
                    queued = .merged(batch)
                }
            }
            if gapped { lost.insert(key.group0) }
            switch result {
            case .enqueued:
                queuedBytes += size
            case .conflated:
                drops.conflated += 1
            case .droppedOldest(let evicted):
                queuedBytes += size
                dropped(evicted, newest: false, drops: &drops)
            case .droppedNewest:
                dropped(key, newest: true, drops: &drops)
            }
        }

        private mutating func dropped(_ key: QueueKey, newest: Bool, drops: inout Drops) {
            if newest { drops.newest += 1 } else { drops.oldest += 1 }
            if key.group != nil { lost.insert(key.group0) }
        }

        /// Drops what is queued for a subject the client let go of.
        private mutating func forgetQueued(subject: String) {
            lost = lost.filter { $0.subject != subject }
            bases = bases.filter { $0.key.subject != subject }
            if queueBox != nil {
                for removed in queue!.remove(where: { $0.subject == subject }) { queuedBytes -= Self.size(of: removed) }
            }
        }

        private static func size(of outbound: Outbound) -> Int {
            switch outbound {
            case .encoded(let frames): frames.json.readableBytes
            case .tick(let item): item.json.readableBytes
            case .snapshot(let item): item.json.readableBytes
            case .merged(let batch): 64 + batch.ticks.count * 200
            case .reply, .ping: 64
            case .pong(let payload): payload.readableBytes + 2
            }
        }

        // MARK: writing

        private mutating func reply(_ control: MessageEncoder.Control, into actions: inout [Action]) {
            enqueueControl(.reply(control), into: &actions)
        }

        /// Replies go ahead of data; a client whose replies pile up behind a full socket stops
        /// being read, and is closed if it still floods (memory stays bounded).
        private mutating func enqueueControl(_ outbound: Outbound, into actions: inout [Action]) {
            if control.isEmpty, queue?.isEmpty ?? true, writable {
                actions.append(.write(outbound))
                return
            }
            if control.count >= settings.controlCloseAt {
                actions += close(CloseFrame(code: 1008, reason: "\(XYErrorCode.backpressure) replies not read"), cause: .controlOverflow, orderly: false)
                return
            }
            control.append(outbound)
            if control.count >= settings.controlPauseAt, !readingPaused, case .open = state {
                readingPaused = true
                actions.append(.stopReading)
            }
            if writable { actions.append(.drain) }
        }

        /// The next frame to write while the socket has room: replies first, then data (minus
        /// what a lost group's resnapshot supersedes). nil when nothing can go now.
        mutating func nextToWrite() -> Outbound? {
            guard writable else { return nil }
            switch state {
            case .open, .draining: break
            case .closing, .closed: return nil
            }
            if let next = control.popFirst() { return next }
            while queueBox != nil, let next = queue?.dequeue() {
                queuedBytes -= Self.size(of: next.element)
                if next.key.group != nil, !lost.isEmpty, lost.contains(next.key.group0) {
                    continue
                }
                switch next.element {
                case .tick, .merged, .snapshot, .encoded: dataSincePong = true
                case .reply, .pong, .ping: break
                }
                return next.element
            }
            return nil
        }

        /// After a drain: release the empty queue, resnapshot lost groups, resume reading, or
        /// finish an orderly close whose queue is now out.
        mutating func drained() -> [Action] {
            var actions: [Action] = []
            let empty = control.isEmpty && (queue?.isEmpty ?? true)
            if empty {
                // An empty queue holds its storage; a burst's memory goes back.
                queueBox = nil
                queuedBytes = 0
                bases.removeAll()
            }
            if readingPaused, control.count < settings.controlPauseAt / 2, case .open = state {
                readingPaused = false
                actions.append(.resumeReading)
            }
            switch state {
            case .open:
                if empty, !lost.isEmpty, writable {
                    let groups = lost
                    lost.removeAll()
                    for entry in groups {
                        guard let group = entry.group, let topic = topicsBySubject[entry.subject] else { continue }
                        actions.append(.resnapshot(topic, subject: entry.subject, group: group))
                    }
                }
            case .draining(let frame, let cause):
                if empty, writable {
                    state = .closing(frame)
                    actions.append(.sendClose(frame, cause: cause))
                }
            case .closing, .closed:
                break
            }
            return actions
        }

        /// The socket's writability changed (NIO's high and low water marks).
        mutating func writabilityChanged(_ isWritable: Bool) -> [Action] {
            writable = isWritable
            if isWritable {
                var actions: [Action] = []
                if slowConsumerTimerArmed {
                    slowConsumerTimerArmed = false
                    actions.append(.cancelSlowConsumerTimer)
                }
                actions.append(.drain)
                return actions
            }
            guard case .open = state, !slowConsumerTimerArmed else { return [] }
            slowConsumerTimerArmed = true
            return [.armSlowConsumerTimer]
        }

        // MARK: timers

        /// The heartbeat: ping, or close a client that stopped answering (a slow consumer when
        /// data is owed to it) or that holds nothing and said nothing for the idle timeout.
        mutating func heartbeat(now: ContinuousClock.Instant) -> [Action] {
            guard case .open = state else { return [] }
            if outstandingPings >= settings.missedPongsAllowed {
                if dataSincePong || !writable || queuedCount > 0 {
                    return slowConsumer()
                }
                return close(CloseFrame(code: 1001, reason: "no pong to \(settings.missedPongsAllowed) pings"), cause: .missedPongs, orderly: true)
            }
            if held.isEmpty, rules.subjects.isEmpty, now - lastInbound > settings.idleTimeout {
                return close(CloseFrame(code: 1000, reason: "idle"), cause: .idle, orderly: true)
            }
            outstandingPings += 1
            var actions: [Action] = []
            enqueueControl(.ping, into: &actions)
            return actions
        }

        /// The socket stayed full for the slow-consumer timeout.
        mutating func slowConsumerTimerFired() -> [Action] {
            guard slowConsumerTimerArmed else { return [] }
            slowConsumerTimerArmed = false
            guard case .open = state, !writable else { return [] }
            return slowConsumer()
        }

        /// The token's `exp` passed: 4001 tells the client to renew its token before reconnecting.
        mutating func tokenExpired() -> [Action] {
            guard case .open = state else { return [] }
            return close(CloseFrame(code: Self.tokenExpiredCloseCode, reason: "\(XYErrorCode.jwtInvalid) token expired"), cause: .tokenExpired, orderly: true)
        }

        /// The WebSocket close code for an expired token (private range, RFC 6455 §7.4.2).
        static var tokenExpiredCloseCode: UInt16 { 4001 }
        /// The WebSocket close code for a slow consumer.
        static var slowConsumerCloseCode: UInt16 { 4008 }

        /// The gateway is stopping.
        mutating func goingAway() -> [Action] {
            switch state {
            case .open:
                return close(CloseFrame(code: 1001, reason: "gateway shutting down"), cause: .goingAway, orderly: true)
            case .draining, .closing, .closed:
                return []
            }
        }

        /// The close frame is out: the server closes the TCP connection first (RFC 6455 §7.1.1),
        /// by a half-close that lets the client read all of it.
        mutating func closeWritten() -> [Action] {
            switch state {
            case .closing: return [.shutdownOutput]
            case .open, .draining, .closed: return []
            }
        }

        /// The close was not completed in time.
        mutating func closeDeadlineFired() -> [Action] {
            switch state {
            case .draining, .closing: return [.closeChannel]
            case .open, .closed: return []
            }
        }

        /// The socket closed: every topic held is to be released, exactly once.
        mutating func channelClosed() -> [TopicID] {
            if case .closed = state { return [] }
            state = .closed
            let topics = Array(held.keys)
            held.removeAll()
            topicsBySubject.removeAll()
            _ = rules.closed()
            control.removeAll()
            queueBox = nil
            queuedBytes = 0
            lost.removeAll()
            bases.removeAll()
            return topics
        }

        // MARK: closing

        private var isDraining: Bool {
            if case .draining = state { return true }
            return false
        }

        private mutating func slowConsumer() -> [Action] {
            let dropped = queuedCount
            return close(
                CloseFrame(code: Self.slowConsumerCloseCode, reason: "\(XYErrorCode.backpressure) slow consumer"),
                cause: .slowConsumer(dropped: dropped), orderly: false)
        }

        /// Starts closing. Orderly: what is queued goes out first (draining), then the close frame.
        /// Otherwise the queue is dropped and the close frame is the next thing written.
        private mutating func close(_ frame: CloseFrame, cause: CloseCause, orderly: Bool) -> [Action] {
            switch state {
            case .open:
                break
            case .draining:
                guard !orderly else { return [] }
            case .closing, .closed:
                return []
            }
            var actions: [Action] = []
            if slowConsumerTimerArmed {
                slowConsumerTimerArmed = false
                actions.append(.cancelSlowConsumerTimer)
            }
            if readingPaused {
                // Read on: the client's close answer must be seen.
                readingPaused = false
                actions.append(.resumeReading)
            }
            if orderly, queuedCount > 0 {
                state = .draining(frame, cause: cause)
                actions += [.armCloseDeadline, .drain]
                return actions
            }
            let dropped = Drops(oldest: queue?.count ?? 0)
            control.removeAll()
            queueBox = nil
            queuedBytes = 0
            lost.removeAll()
            bases.removeAll()
            if !dropped.isEmpty { actions.append(.dropped(dropped)) }
            state = .closing(frame)
            actions += [.armCloseDeadline, .sendClose(frame, cause: cause)]
            return actions
        }
    }
}

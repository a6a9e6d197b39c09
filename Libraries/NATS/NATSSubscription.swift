import DequeModule
import NIOConcurrencyHelpers
import NIOCore

/// A subscription whose messages queue up (within pending limits) and reach the consumer in batches:
/// the iterator takes the whole queue per wake-up, so a fast stream costs one lock per message and
/// almost no continuation resumes.
///
/// One iterator reads at a time; iterators may follow one another. An iterator that stops early
/// (`break`) hands the messages it had taken but not yielded back to the subscription, so the next
/// iterator reads them first: none is lost between loops.
public final class NATSSubscription: AsyncSequence, SingleConsumerQueueOwner, @unchecked Sendable {
    public typealias Element = NATSMessage

    public let subject: String
    public let queue: String?
    /// The subscription id on the wire.
    public let sid: UInt64

    /// Fast path: when set, messages are handed to it on the connection's event loop, not queued.
    let handler: (@Sendable (NATSMessage) -> Void)?
    private let client: NATSClient
    private let lock = NIOLock()
    /// Only touched with `lock` held, which already makes every access exclusive: Swift's run-time
    /// check of each access (several per delivered message) is switched off for it.
    @exclusivity(unchecked) private var state: State

    struct State {
        var queue = SingleConsumerQueue<NATSMessage>()
        var limits: NATSPendingLimits
        var dropped = 0
        var delivered = 0
        /// Every message the server sent on this sid, dropped ones included: the server counts
        /// those against `unsubscribe(after:)` too.
        var received = 0
        /// Auto-unsubscribe after this many deliveries (`unsubscribe(after:)`).
        var maxMessages: Int?
        /// `queue.batchesTaken` at the last drop: drops while the consumer took nothing since are one episode.
        var slowEpisode = -1
        /// Unsubscribed, drained or closed: nothing more is delivered.
        var finished = false
    }

    /// What `deliver` did with one message, so the connection can count and clean up.
    enum DeliveryOutcome {
        case delivered
        /// Delivered, and it was the last one `unsubscribe(after:)` allowed.
        case deliveredLast
        /// Dropped over the pending limits; `firstInEpisode` asks for one slow-consumer event,
        /// `last` says the auto-unsubscribe count is reached all the same.
        case dropped(firstInEpisode: Bool, last: Bool)
        case closed
    }

    init(client: NATSClient, sid: UInt64, subject: String, queue: String?, limits: NATSPendingLimits,
         handler: (@Sendable (NATSMessage) -> Void)?) {
        self.client = client
        self.sid = sid
        self.subject = subject
        self.queue = queue
        self.handler = handler
        self.state = State(limits: limits)
    }

    // MARK: public API

    /// Stops delivery at once; queued messages are discarded.
    public func unsubscribe() throws {
        try client.unsubscribe(self, after: nil)
    }

    /// Ends the subscription once `count` messages have arrived since it began (the server is told too).
    public func unsubscribe(after count: Int) throws {
        try client.unsubscribe(self, after: count)
    }

    /// Unsubscribes, waits until every message the server sent before that has arrived, and lets the
    /// consumer read what is queued before the sequence ends.
    public func drain(timeout: TimeAmount = .seconds(5)) async throws {
        try await client.drain(self, timeout: timeout)
    }

    /// Messages dropped because the pending limits were reached.
    public var droppedMessages: Int { lock.withLock { state.dropped } }

    /// Messages waiting for the consumer.
    public var pendingMessages: Int { lock.withLock { state.queue.items.count } }

    /// Messages delivered so far (to the queue or the handler).
    public var deliveredMessages: Int { lock.withLock { state.delivered } }

    public var pendingLimits: NATSPendingLimits {
        get { lock.withLock { state.limits } }
        set { lock.withLock { state.limits = newValue } }
    }

    public var isActive: Bool { lock.withLock { !state.finished } }

    // MARK: connection side

    /// Called on the event loop for every message of this sid.
    func deliver(_ message: NATSMessage) -> DeliveryOutcome {
        if let handler {
            let outcome: DeliveryOutcome = lock.withLock {
                guard !state.finished else { return .closed }
                state.delivered += 1
                state.received += 1
                if let max = state.maxMessages, state.received >= max { return .deliveredLast }
                return .delivered
            }
            if case .closed = outcome { return outcome }
            handler(message)
            return outcome
        }
        lock.lock()
        guard !state.finished else {
            lock.unlock()
            return .closed
        }
        let size = message.payload.readableBytes
        state.received += 1
        let last = state.maxMessages.map { state.received >= $0 } ?? false
        if state.queue.items.count >= state.limits.messages || state.queue.pendingWeight + size > state.limits.bytes {
            state.dropped += 1
            let first = state.slowEpisode != state.queue.batchesTaken
            state.slowEpisode = state.queue.batchesTaken
            lock.unlock()
            return .dropped(firstInEpisode: first, last: last)
        }
        state.delivered += 1
        let outcome = last ? DeliveryOutcome.deliveredLast : .delivered
        let resumption = state.queue.append(message, weight: size)
        lock.unlock()
        resumption?.resume()
        return outcome
    }

    /// Records an auto-unsubscribe limit; returns the count still to deliver (0 when already reached).
    func setMaxMessages(_ max: Int) -> Int {
        lock.withLock {
            state.maxMessages = max
            return Swift.max(0, max - state.received)
        }
    }

    /// Remaining deliveries for a resubscription after reconnect, or nil when unlimited.
    var remainingMessages: Int? {
        lock.withLock { state.maxMessages.map { Swift.max(0, $0 - state.received) } }
    }

    /// Ends the sequence. `discard` drops what is queued (unsubscribe); otherwise the consumer reads it first.
    func finish(error: NATSError? = nil, discard: Bool = false) {
        let resumption: SingleConsumerQueue<NATSMessage>.Resumption? = lock.withLock {
            guard !state.finished else { return nil }
            state.finished = true
            return state.queue.finish(error: error, discard: discard)
        }
        resumption?.resume()
    }

    func withQueueLocked<R>(_ body: (inout SingleConsumerQueue<NATSMessage>) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&state.queue)
    }

    static func queueWeight(of element: NATSMessage) -> Int {
        element.payload.readableBytes
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(subscription: self)
    }

    /// Yields from a local batch and refills it from the subscription's queue in one step; what
    /// it holds when it goes away goes back to the subscription (see ``NATSSubscription``).
    public struct AsyncIterator: AsyncIteratorProtocol {
        let subscription: NATSSubscription
        private let batch: ConsumerBatch<NATSSubscription>

        init(subscription: NATSSubscription) {
            self.subscription = subscription
            self.batch = ConsumerBatch(owner: subscription)
        }

        public mutating func next() async throws -> NATSMessage? {
            if let message = batch.popFirst() { return message }
            if subscription.handler != nil { return nil }
            try await batch.refill()
            return batch.popFirst()
        }
    }
}

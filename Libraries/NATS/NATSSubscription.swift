import DequeModule
import NIOConcurrencyHelpers
import NIOCore

/// A subscription whose messages queue up (within pending limits) and reach the consumer in batches:
/// the iterator takes the whole queue per wake-up, so a fast stream costs one lock per message and
/// almost no continuation resumes.
public final class NATSSubscription: AsyncSequence, @unchecked Sendable {
    public typealias Element = NATSMessage

    public let subject: String
    public let queue: String?
    /// The subscription id on the wire.
    public let sid: UInt64

    /// Fast path: when set, messages are handed to it on the connection's event loop, not queued.
    let handler: (@Sendable (NATSMessage) -> Void)?
    private let client: NATSClient
    private let lock = NIOLock()
    private var state: State

    struct State {
        var queue: Deque<NATSMessage> = []
        var pendingBytes = 0
        var limits: NATSPendingLimits
        var dropped = 0
        var delivered = 0
        /// Every message the server sent on this sid, dropped ones included: the server counts
        /// those against `unsubscribe(after:)` too.
        var received = 0
        /// Auto-unsubscribe after this many deliveries (`unsubscribe(after:)`).
        var maxMessages: Int?
        var inSlowEpisode = false
        var waiter: UnsafeContinuation<Deque<NATSMessage>, Error>?
        var finished = false
        var failure: NATSError?
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
    public var pendingMessages: Int { lock.withLock { state.queue.count } }

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
        if state.queue.count >= state.limits.messages || state.pendingBytes + size > state.limits.bytes {
            state.dropped += 1
            let first = !state.inSlowEpisode
            state.inSlowEpisode = true
            lock.unlock()
            return .dropped(firstInEpisode: first, last: last)
        }
        state.delivered += 1
        let outcome = last ? DeliveryOutcome.deliveredLast : .delivered
        if let waiter = state.waiter {
            state.waiter = nil
            lock.unlock()
            waiter.resume(returning: [message])
        } else {
            state.queue.append(message)
            state.pendingBytes += size
            lock.unlock()
        }
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
        lock.lock()
        guard !state.finished else {
            lock.unlock()
            return
        }
        state.finished = true
        state.failure = error
        if discard {
            state.queue.removeAll()
            state.pendingBytes = 0
        }
        let waiter = state.waiter
        state.waiter = nil
        if waiter != nil, error != nil { state.failure = nil }  // thrown once, to the waiting consumer
        lock.unlock()
        if let waiter {
            if let error { waiter.resume(throwing: error) } else { waiter.resume(returning: []) }
        }
    }

    /// Refills the iterator's (empty) batch with everything queued, waiting for at least one message;
    /// left empty at the end of the sequence. Swapping keeps both deques' storage alive for reuse.
    fileprivate func refill(_ batch: inout Deque<NATSMessage>) async throws {
        if try takeQueued(&batch) { return }
        batch = try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Deque<NATSMessage>, Error>) in
                // Checked again under the lock: a message or the end may have come since `takeQueued`.
                lock.lock()
                if !state.queue.isEmpty {
                    var ready: Deque<NATSMessage> = []
                    swap(&state.queue, &ready)
                    state.pendingBytes = 0
                    state.inSlowEpisode = false
                    lock.unlock()
                    continuation.resume(returning: ready)
                    return
                }
                if state.finished || Task.isCancelled {
                    let failure = state.failure
                    state.failure = nil
                    lock.unlock()
                    if let failure { continuation.resume(throwing: failure) } else { continuation.resume(returning: []) }
                    return
                }
                precondition(state.waiter == nil, "a NATSSubscription supports one consuming iterator at a time")
                state.waiter = continuation
                state.inSlowEpisode = false
                lock.unlock()
            }
        } onCancel: {
            lock.lock()
            let waiter = state.waiter
            state.waiter = nil
            lock.unlock()
            waiter?.resume(returning: [])
        }
    }

    /// Moves what is queued into `batch`; true when the caller has something (or the end) without waiting.
    private func takeQueued(_ batch: inout Deque<NATSMessage>) throws -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if !state.queue.isEmpty {
            swap(&state.queue, &batch)
            state.pendingBytes = 0
            state.inSlowEpisode = false
            return true
        }
        if state.finished {
            let failure = state.failure
            state.failure = nil
            if let failure { throw failure }
            return true
        }
        return false
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(subscription: self)
    }

    /// Yields from a local batch and refills it from the subscription's queue in one step.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let subscription: NATSSubscription
        var batch: Deque<NATSMessage> = []

        public mutating func next() async throws -> NATSMessage? {
            if let message = batch.popFirst() { return message }
            if subscription.handler != nil { return nil }
            try await subscription.refill(&batch)
            return batch.popFirst()
        }
    }
}

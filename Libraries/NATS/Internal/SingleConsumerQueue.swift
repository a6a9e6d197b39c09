import DequeModule

/// The buffer between producers (the event loop) and one async consumer at a time, shared by
/// ``NATSSubscription`` and ``JetStreamOrderedConsumer``. A value kept inside its owner's
/// lock-protected state, so the owner's own counters change under the same single lock; the owner
/// (a ``SingleConsumerQueueOwner``) supplies that lock. The consumer takes everything queued per
/// wake-up, so a fast stream costs one lock per element and almost no continuation resumes.
struct SingleConsumerQueue<Element: Sendable> {
    private(set) var items: Deque<Element> = []
    /// What the owner counts of `items` (payload bytes), returned to zero when the consumer takes them.
    private(set) var pendingWeight = 0
    /// Batches handed to the consumer so far: an owner tells a new episode of drops by it.
    private(set) var batchesTaken = 0
    private(set) var isFinished = false
    /// Finished by throwing away what was queued (unsubscribe): what an iterator puts back goes too.
    private var discarded = false
    /// Thrown once, after what is queued, to the consumer.
    private var failure: (any Error)?
    private var waiter: UnsafeContinuation<Deque<Element>, any Error>?

    /// A consumer to resume, outside the lock (resuming runs no code of ours, but keeps the lock short).
    struct Resumption {
        fileprivate let continuation: UnsafeContinuation<Deque<Element>, any Error>
        fileprivate let result: Result<Deque<Element>, any Error>

        func resume() { continuation.resume(with: result) }
    }

    /// What a consumer that asked for more gets without waiting.
    enum Take {
        /// Elements were moved into the caller's batch.
        case taken
        /// The sequence is over (thrown: the failure it ended with).
        case finished
        /// Nothing yet: park the consumer.
        case empty
    }

    /// Adds one element; when the consumer is parked it gets the element at once (return value).
    mutating func append(_ element: Element, weight: Int) -> Resumption? {
        if let waiter {
            self.waiter = nil
            batchesTaken &+= 1
            return Resumption(continuation: waiter, result: .success([element]))
        }
        items.append(element)
        pendingWeight += weight
        return nil
    }

    /// Ends the sequence: the consumer reads what is queued first (unless `discard`), then
    /// `error` is thrown, or the sequence ends. Returns the parked consumer to resume, if any.
    mutating func finish(error: (any Error)?, discard: Bool) -> Resumption? {
        guard !isFinished else { return nil }
        isFinished = true
        failure = error
        if discard {
            discarded = true
            items.removeAll()
            pendingWeight = 0
        }
        guard let waiter else { return nil }
        // A parked consumer has an empty queue: the end (or the error) is its answer now.
        self.waiter = nil
        failure = nil
        return Resumption(continuation: waiter, result: error.map { .failure($0) } ?? .success([]))
    }

    /// Moves everything queued into the consumer's (empty) `batch`, or reports the end; throws the
    /// failure the sequence ended with, once.
    mutating func take(into batch: inout Deque<Element>) throws -> Take {
        if !items.isEmpty {
            swap(&items, &batch)
            pendingWeight = 0
            batchesTaken &+= 1
            return .taken
        }
        guard isFinished else { return .empty }
        if let failure {
            self.failure = nil
            throw failure
        }
        return .finished
    }

    /// Parks the consumer, or answers it at once when something arrived (or the end came) since
    /// ``take(into:)``, or when its task is cancelled.
    mutating func park(_ continuation: UnsafeContinuation<Deque<Element>, any Error>, cancelled: Bool) -> Resumption? {
        var batch: Deque<Element> = []
        do {
            switch try take(into: &batch) {
            case .taken:
                return Resumption(continuation: continuation, result: .success(batch))
            case .finished:
                return Resumption(continuation: continuation, result: .success([]))
            case .empty:
                if cancelled { return Resumption(continuation: continuation, result: .success([])) }
                precondition(waiter == nil, "one consuming iterator at a time")
                waiter = continuation
                return nil
            }
        } catch {
            return Resumption(continuation: continuation, result: .failure(error))
        }
    }

    /// The consumer's task was cancelled: its wait ends as the end of the sequence.
    mutating func cancelWaiter() -> Resumption? {
        guard let waiter else { return nil }
        self.waiter = nil
        return Resumption(continuation: waiter, result: .success([]))
    }

    /// Puts back, ahead of anything newer, what an iterator took but did not yield.
    mutating func putBack(_ batch: Deque<Element>, weight: Int) {
        guard !discarded, !batch.isEmpty else { return }
        items.prepend(contentsOf: batch)
        pendingWeight += weight
    }
}

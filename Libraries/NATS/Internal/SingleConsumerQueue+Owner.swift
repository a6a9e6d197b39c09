import DequeModule

/// A type whose lock guards a ``SingleConsumerQueue``; gives it the consumer side.
protocol SingleConsumerQueueOwner: AnyObject, Sendable {
    associatedtype QueueElement: Sendable

    /// Runs `body` on the queue under the owner's lock.
    func withQueueLocked<R>(_ body: (inout SingleConsumerQueue<QueueElement>) throws -> R) rethrows -> R

    /// What one element counts toward ``SingleConsumerQueue/pendingWeight``.
    static func queueWeight(of element: QueueElement) -> Int
}

extension SingleConsumerQueueOwner {
    /// Refills the consumer's empty `batch` with everything queued, waiting for at least one
    /// element; left empty at the end of the sequence (or when the task is cancelled).
    func refill(_ batch: inout Deque<QueueElement>) async throws {
        if try withQueueLocked({ try $0.take(into: &batch) }) != .empty { return }
        batch = try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Deque<QueueElement>, any Error>) in
                withQueueLocked { $0.park(continuation, cancelled: Task.isCancelled) }?.resume()
            }
        } onCancel: {
            withQueueLocked { $0.cancelWaiter() }?.resume()
        }
    }
}

/// The batch one iterator took and has not yielded yet. An iterator that stops early (a `break`)
/// goes away with it; this box's deinit then puts those elements back at the front of the queue,
/// so the next iterator reads them instead of losing them.
final class ConsumerBatch<Owner: SingleConsumerQueueOwner> {
    let owner: Owner
    /// Used only by the iterator that owns this box, one `next()` at a time (an async iterator is
    /// never shared between tasks), and by `deinit`: no access can overlap another, so Swift's
    /// run-time exclusivity check (one per element yielded) is switched off for it.
    @exclusivity(unchecked) private var batch: Deque<Owner.QueueElement> = []

    init(owner: Owner) {
        self.owner = owner
    }

    deinit {
        guard !batch.isEmpty else { return }
        let weight = batch.reduce(0) { $0 + Owner.queueWeight(of: $1) }
        let batch = self.batch
        owner.withQueueLocked { $0.putBack(batch, weight: weight) }
    }

    /// The next element already taken, if any: the per-element path, kept synchronous so an
    /// iterator pays for one async frame (its own) per element.
    func popFirst() -> Owner.QueueElement? {
        batch.popFirst()
    }

    /// Nothing taken and not yielded.
    var isEmpty: Bool { batch.isEmpty }

    /// Waits for the next batch (empty at the end of the sequence).
    func refill() async throws {
        try await owner.refill(&batch)
    }
}

import DequeModule

/// A bounded first-in first-out queue in which a new element merges into the queued one with
/// the same key, keeping its place in line: the per-connection send queue of
/// `WebSocketSession.StateMachine`, keyed by subject, where a slow browser should get the latest
/// value of each subject rather than every intermediate one, and a full queue is handled by one
/// explicit policy.
///
/// Pure and generic, so the policies are tested with plain values; the session's state machine
/// owns one and decides what a drop means for the client.
struct ConflatingQueue<Key: Hashable, Element> {
    /// What to do with a new element when the queue is full and nothing can be conflated.
    enum OverflowPolicy: Hashable, Sendable {
        /// Evict the oldest queued element to make room (freshness matters most).
        case dropOldest
        /// Refuse the new element (what is queued is kept in order).
        case dropNewest
    }

    /// What `enqueue` did.
    enum EnqueueResult: Hashable {
        /// Appended at the back.
        case enqueued
        /// Merged into the element already queued for the key, in its place.
        case conflated
        /// Appended after evicting the oldest element, queued for `evicted` (`.dropOldest`).
        case droppedOldest(evicted: Key)
        /// Refused: the queue is full (`.dropNewest`).
        case droppedNewest
    }

    private let capacity: Int
    private let policy: OverflowPolicy
    /// Keys in the order their elements leave; each key at most once.
    private var order: Deque<Key> = []
    private var elements: [Key: Element] = [:]

    /// A queue of at most `capacity` elements; a capacity below 1 is a programming error (the
    /// session asks for room for a base and its replay at least).
    init(capacity: Int, policy: OverflowPolicy) {
        precondition(capacity >= 1, "queue capacity \(capacity) is below 1")
        self.capacity = capacity
        self.policy = policy
        order.reserveCapacity(min(capacity, 1024))
    }

    var count: Int { order.count }
    var isEmpty: Bool { order.isEmpty }

    /// Queues `element` for `key`; when one is already queued for it, `merge` folds the new one
    /// into it in place (tick batches merge their ticks instead of losing the older batch's).
    mutating func enqueue(
        _ element: Element, for key: Key, merge: (_ queued: inout Element, _ new: Element) -> Void
    ) -> EnqueueResult {
        if let index = elements.index(forKey: key) {
            merge(&elements.values[index], element)
            return .conflated
        }
        var result = EnqueueResult.enqueued
        if order.count >= capacity {
            switch policy {
            case .dropOldest:
                let evicted = order.removeFirst()
                elements[evicted] = nil
                result = .droppedOldest(evicted: evicted)
            case .dropNewest:
                return .droppedNewest
            }
        }
        order.append(key)
        elements[key] = element
        return result
    }

    /// The oldest element and its key, or nil when the queue is empty.
    mutating func dequeue() -> (key: Key, element: Element)? {
        guard let key = order.popFirst(), let element = elements.removeValue(forKey: key) else { return nil }
        return (key, element)
    }

    /// Removes the elements whose key matches (a consumer let go of a subject, or a fresh base
    /// supersedes what was queued before it), keeping the order of the rest; returns them.
    mutating func remove(where matches: (Key) -> Bool) -> [Element] {
        var removed: [Element] = []
        order.removeAll { key in
            guard matches(key) else { return false }
            if let element = elements.removeValue(forKey: key) { removed.append(element) }
            return true
        }
        return removed
    }
}

extension ConflatingQueue: Sendable where Key: Sendable, Element: Sendable {}
extension ConflatingQueue.EnqueueResult: Sendable where Key: Sendable {}

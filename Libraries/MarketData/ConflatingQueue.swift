import DequeModule

/// A bounded first-in first-out queue in which a new element replaces (or merges into) the
/// queued one with the same key, keeping its place in line: the gateway's per-client send
/// queue, keyed by subject, where a slow browser should get the latest value of each subject
/// rather than every intermediate one, and a full queue is handled by one explicit policy.
///
/// Pure and generic, so the policies are tested with plain values; the channel handler that
/// owns one does the writing, and closes the connection when `enqueue` says `.overflow` under
/// `.disconnect`.
public struct ConflatingQueue<Key: Hashable, Element> {
    /// What to do with a new element when the queue is full and nothing can be conflated.
    public enum OverflowPolicy: Hashable, Sendable {
        /// Evict the oldest queued element to make room (freshness matters most).
        case dropOldest
        /// Refuse the new element (what is queued is kept in order).
        case dropNewest
        /// Refuse the new element and tell the owner to disconnect the slow consumer.
        case disconnect
    }

    /// What `enqueue` did.
    public enum EnqueueResult: Hashable {
        /// Appended at the back.
        case enqueued
        /// Replaced or merged into the element already queued for the key, in its place.
        case conflated
        /// Appended after evicting the oldest element, queued for `evicted` (`.dropOldest`).
        case droppedOldest(evicted: Key)
        /// Refused: the queue is full (`.dropNewest`).
        case droppedNewest
        /// Refused: the queue is full; disconnect the consumer (`.disconnect`).
        case overflow
    }

    /// Counted since the queue was made (the gateway's `xy_ws_messages_dropped_total{reason}`
    /// and `xy_ws_slow_consumers_total`).
    public struct Counters: Hashable, Sendable {
        public var enqueued: UInt64 = 0
        public var conflated: UInt64 = 0
        public var droppedOldest: UInt64 = 0
        public var droppedNewest: UInt64 = 0
        public var overflows: UInt64 = 0
        public var dequeued: UInt64 = 0
        /// The most elements ever queued at once.
        public var highWaterMark: Int = 0
    }

    public let capacity: Int
    public let policy: OverflowPolicy
    public private(set) var counters = Counters()
    /// Keys in the order their elements leave; each key at most once.
    private var order: Deque<Key> = []
    private var elements: [Key: Element] = [:]

    /// A queue of at most `capacity` (≥ 1) elements.
    public init(capacity: Int, policy: OverflowPolicy) throws(MarketDataError) {
        guard capacity >= 1 else {
            throw MarketDataError(.invalidConfiguration, "queue capacity \(capacity) is below 1")
        }
        self.capacity = capacity
        self.policy = policy
        order.reserveCapacity(min(capacity, 1024))
    }

    public var count: Int { order.count }
    public var isEmpty: Bool { order.isEmpty }

    /// Queues `element` for `key`, replacing the one already queued for it.
    public mutating func enqueue(_ element: Element, for key: Key) -> EnqueueResult {
        enqueue(element, for: key) { queued, new in queued = new }
    }

    /// Queues `element` for `key`; when one is already queued for it, `merge` folds the new one
    /// into it in place (tick batches merge their ticks instead of losing the older batch's).
    public mutating func enqueue(
        _ element: Element, for key: Key, merge: (_ queued: inout Element, _ new: Element) -> Void
    ) -> EnqueueResult {
        if let index = elements.index(forKey: key) {
            merge(&elements.values[index], element)
            counters.conflated += 1
            return .conflated
        }
        var result = EnqueueResult.enqueued
        if order.count >= capacity {
            switch policy {
            case .dropOldest:
                let evicted = order.removeFirst()
                elements[evicted] = nil
                counters.droppedOldest += 1
                result = .droppedOldest(evicted: evicted)
            case .dropNewest:
                counters.droppedNewest += 1
                return .droppedNewest
            case .disconnect:
                counters.overflows += 1
                return .overflow
            }
        }
        order.append(key)
        elements[key] = element
        counters.enqueued += 1
        if order.count > counters.highWaterMark { counters.highWaterMark = order.count }
        return result
    }

    /// The oldest element and its key, or nil when the queue is empty.
    public mutating func dequeue() -> (key: Key, element: Element)? {
        guard let key = order.popFirst(), let element = elements.removeValue(forKey: key) else { return nil }
        counters.dequeued += 1
        return (key, element)
    }

    /// Removes the elements whose key matches (a consumer let go of a subject, or a fresh base
    /// supersedes what was queued before it), keeping the order of the rest; returns them.
    public mutating func remove(where matches: (Key) -> Bool) -> [Element] {
        var removed: [Element] = []
        order.removeAll { key in
            guard matches(key) else { return false }
            if let element = elements.removeValue(forKey: key) { removed.append(element) }
            return true
        }
        return removed
    }

    /// Empties the queue (the consumer went away); counters stay.
    public mutating func removeAll() {
        order.removeAll()
        elements.removeAll()
    }
}

extension ConflatingQueue: Sendable where Key: Sendable, Element: Sendable {}
extension ConflatingQueue.EnqueueResult: Sendable where Key: Sendable {}

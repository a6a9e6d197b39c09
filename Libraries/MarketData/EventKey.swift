/// Where an event stands in a symbol's history: its event time, then the vendor's sequence
/// number as the tie-break. Events are applied in this order; one that sorts before what was
/// already applied is stale.
public struct EventKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Event time, Unix epoch nanoseconds, as the vendor stamps it.
    public var timeNs: Int64
    /// The vendor's sequence number; 0 when the vendor sends none.
    public var sequence: UInt64

    /// Nothing applied yet (what a tick carries as 0 and 0): every event stamped after the
    /// epoch sorts after it.
    public static let none = EventKey(timeNs: 0, sequence: 0)

    public init(timeNs: Int64, sequence: UInt64) {
        self.timeNs = timeNs
        self.sequence = sequence
    }

    public static func < (lhs: EventKey, rhs: EventKey) -> Bool {
        lhs.timeNs != rhs.timeNs ? lhs.timeNs < rhs.timeNs : lhs.sequence < rhs.sequence
    }

    /// Whether an event with this key comes too late after `applied`: it sorts before it, or it
    /// is the very same (time, sequence) again, a duplicate. Without a vendor sequence (0) an
    /// equal time is not a duplicate: two prints in the same nanosecond are both real.
    public func isStale(after applied: EventKey) -> Bool {
        if timeNs != applied.timeNs { return timeNs < applied.timeNs }
        return sequence < applied.sequence || (sequence == applied.sequence && sequence != 0)
    }

    public var description: String { "\(timeNs)#\(sequence)" }
}

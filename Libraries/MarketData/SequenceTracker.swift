/// Follows the `seq` of one group's batches on the consumer side (the aggregator reading
/// `XY_TICKS` after a restart, the gateway, the browser) and says what each one means: next in
/// line, a repeat, a gap to repair with a snapshot, or a producer that started counting again.
///
/// A NATS subject delivers in publish order, so a seq below the last one is not a late
/// duplicate but a producer whose counter went back (restarted without its stream): the only
/// safe answer is a fresh snapshot, the same as for a gap.
public struct SequenceTracker: Hashable, Sendable {
    /// What one observed seq means.
    public enum Observation: Hashable, Sendable {
        /// The next one (or the first one seen): apply it.
        case inOrder
        /// The same seq as the last one: skip it.
        case duplicate
        /// Batches `missing` never arrived: apply a snapshot, then the batches after its seq.
        case gap(missing: ClosedRange<UInt64>)
        /// The seq went back (to 1, or anywhere below `previous`): the producer restarted;
        /// drop the state and start over from a snapshot.
        case reset(previous: UInt64)
    }

    /// Observations counted by kind (for metrics and tests).
    public struct Counters: Hashable, Sendable {
        public var inOrder: UInt64 = 0
        public var duplicates: UInt64 = 0
        public var gaps: UInt64 = 0
        /// Batches missing over all gaps.
        public var missing: UInt64 = 0
        public var resets: UInt64 = 0
    }

    /// The last seq accepted; nil before the first.
    public private(set) var lastSeq: UInt64?
    public private(set) var counters = Counters()

    /// A tracker that expects `lastSeq + 1` next: the seq of the snapshot just applied, or nil
    /// to accept whatever comes first.
    public init(lastSeq: UInt64? = nil) {
        self.lastSeq = lastSeq
    }

    /// Classifies `seq` and moves on to it (except for a duplicate). A batch merged from
    /// several (`TickBatch.first_seq`, non-zero) covers `firstSeq...seq`: it is in order when it
    /// starts at or before the next seq and ends after the last one.
    public mutating func observe(_ seq: UInt64, firstSeq: UInt64 = 0) -> Observation {
        guard let last = lastSeq else {
            lastSeq = seq
            counters.inOrder += 1
            return .inOrder
        }
        let first = firstSeq == 0 || firstSeq > seq ? seq : firstSeq
        if seq == last {
            counters.duplicates += 1
            return .duplicate
        }
        lastSeq = seq
        if seq < last {
            counters.resets += 1
            return .reset(previous: last)
        }
        if first <= last + 1 {
            counters.inOrder += 1
            return .inOrder
        }
        counters.gaps += 1
        counters.missing += first - last - 1
        return .gap(missing: (last + 1)...(first - 1))
    }

    /// Starts expecting `seq + 1`: after applying a snapshot taken at `seq`.
    public mutating func restart(at seq: UInt64) {
        lastSeq = seq
    }
}

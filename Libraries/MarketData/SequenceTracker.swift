/// The sequence rules of one group on the consumer side, the one Swift implementation (the
/// gateway's `GroupCache`, the aggregator rebuilding from `XY_TICKS`), mirrored once by
/// `Web/xy-sequencer.js`; both are driven by the test vectors in
/// `Tests/Fixtures/sequence-rules.json`.
///
/// A position is an `(epoch, seq)` pair: `seq` rises by 1 per batch and compares only within
/// one `epoch`, the identity of the producer run that numbered it. A producer that could not
/// recover its group starts a new epoch and counts from 1 again; consumers see a different epoch
/// and take the next snapshot as their base instead of treating the lower seqs as repeats.
///
/// - batch, no position yet: accepted (the first one seen)
/// - batch, different epoch: new epoch (drop the state, wait for a snapshot; follow the new seq)
/// - batch, `seq <= last`: duplicate (already covered; NATS delivers in order, so never "late")
/// - batch, first seq (`first_seq` of a merged batch, else seq) `> last + 1`: gap (wait for a
///   snapshot; follow the new seq)
/// - batch otherwise: accepted
/// - snapshot while waiting for one (or with no position): accepted as the base, whatever its
///   seq (new epoch when its epoch differs from the position's)
/// - snapshot, different epoch: new epoch, accepted as the base even with a lower seq
/// - snapshot, same epoch: accepted when `seq > last`, else duplicate
///
/// Epochs are compared for equality only: a producer whose clock went back still starts a new one.
public struct SequenceTracker: Hashable, Sendable {
    /// What one batch or snapshot means.
    public enum Outcome: Hashable, Sendable {
        /// Next in line (a batch), or a base to take (a snapshot).
        case accepted
        /// Already covered: skip it.
        case duplicate
        /// Batches `missing` never arrived: wait for a snapshot, then the batches after its seq.
        case gap(missing: ClosedRange<UInt64>)
        /// The producer started a new run (`previous` was the epoch followed until now): drop
        /// the state; a snapshot with this outcome is the new base, after a batch wait for one.
        case newEpoch(previous: UInt64)
    }

    /// Outcomes counted by kind (for metrics and tests).
    public struct Counters: Hashable, Sendable {
        public var accepted: UInt64 = 0
        public var duplicates: UInt64 = 0
        public var gaps: UInt64 = 0
        /// Batches missing over all gaps.
        public var missing: UInt64 = 0
        public var newEpochs: UInt64 = 0
    }

    /// The epoch followed; nil before the first batch or snapshot.
    public private(set) var epoch: UInt64?
    /// The last seq accepted in `epoch` (meaningless while `epoch` is nil).
    public private(set) var lastSeq: UInt64 = 0
    /// True until a snapshot is taken, and again after a gap, a new epoch or `expectSnapshot()`:
    /// a consumer that replaces its state from snapshots applies no batch meanwhile.
    public private(set) var awaitingSnapshot = true
    public private(set) var counters = Counters()

    /// A tracker with no position, waiting for a snapshot.
    public init() {}

    /// A tracker positioned just after a snapshot at `seq` of `epoch`: `seq + 1` is next.
    public init(epoch: UInt64, lastSeq: UInt64) {
        self.epoch = epoch
        self.lastSeq = lastSeq
        awaitingSnapshot = false
    }

    /// Classifies a batch and moves to it (except a duplicate). A merged batch (`firstSeq`
    /// non-zero) covers `firstSeq...seq`: it is accepted when it starts at or before the next seq
    /// and ends after the last one (overlap is harmless: ticks are full symbol states).
    public mutating func batch(epoch batchEpoch: UInt64, seq: UInt64, firstSeq: UInt64 = 0) -> Outcome {
        guard let current = epoch else {
            move(batchEpoch, seq)
            counters.accepted += 1
            return .accepted
        }
        if batchEpoch != current {
            move(batchEpoch, seq)
            awaitingSnapshot = true
            counters.newEpochs += 1
            return .newEpoch(previous: current)
        }
        if seq <= lastSeq {
            counters.duplicates += 1
            return .duplicate
        }
        let first = firstSeq == 0 || firstSeq > seq ? seq : firstSeq
        if first > lastSeq + 1 {
            let missing = (lastSeq + 1)...(first - 1)
            move(batchEpoch, seq)
            awaitingSnapshot = true
            counters.gaps += 1
            counters.missing += first - missing.lowerBound
            return .gap(missing: missing)
        }
        move(batchEpoch, seq)
        counters.accepted += 1
        return .accepted
    }

    /// Classifies a snapshot and, unless it is a duplicate, takes it as the base: the position
    /// becomes its `(epoch, seq)` and batches are applied again.
    public mutating func snapshot(epoch snapshotEpoch: UInt64, seq: UInt64) -> Outcome {
        let outcome: Outcome
        if let current = epoch, snapshotEpoch != current {
            outcome = .newEpoch(previous: current)
            counters.newEpochs += 1
        } else if awaitingSnapshot || epoch == nil || seq > lastSeq {
            outcome = .accepted
            counters.accepted += 1
        } else {
            counters.duplicates += 1
            return .duplicate
        }
        move(snapshotEpoch, seq)
        awaitingSnapshot = false
        return outcome
    }

    /// Keeps the position but waits for a snapshot again (the connection was lost, or the
    /// consumer's own state no longer bridges to its batches).
    public mutating func expectSnapshot() {
        awaitingSnapshot = true
    }

    private mutating func move(_ newEpoch: UInt64, _ seq: UInt64) {
        epoch = newEpoch
        lastSeq = seq
    }
}

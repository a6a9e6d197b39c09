import DequeModule
import MarketData
import NIOCore
import XYContracts

/// A tick batch as the gateway shares it: decoded once, encoded once per subprotocol in use.
public final class TickItem: Sendable {
    public let batch: Xy_Md_V1_TickBatch
    public let subject: String
    public let json: ByteBuffer
    /// Nil when no `xy.v1.proto` client held the topic as it arrived.
    public let proto: ByteBuffer?

    public init(batch: Xy_Md_V1_TickBatch, subject: String, json: ByteBuffer, proto: ByteBuffer?) {
        self.batch = batch
        self.subject = subject
        self.json = json
        self.proto = proto
    }

    public var group: String { batch.group }
    public var seq: UInt64 { batch.seq }
    /// The producer run `seq` belongs to (seqs compare only within one epoch).
    public var epoch: UInt64 { batch.epoch }
    /// The first seq the batch covers (a merged batch covers `firstSeq...seq`).
    public var firstSeq: UInt64 { batch.firstSeq == 0 ? batch.seq : batch.firstSeq }

    /// The shared frame, or (a proto client that joined after the batch was encoded) its own.
    public func frame(_ encoding: FrameEncoding, encoder: MessageEncoder, nowNs: Int64) -> ByteBuffer {
        encoding == .json ? json : proto ?? encoder.tickFrame(batch, subject: subject, nowNs: nowNs, .proto)
    }
}

/// A snapshot as the gateway shares it: decoded once, encoded once per subprotocol in use.
public final class SnapshotItem: Sendable {
    public let snapshot: Xy_Md_V1_Snapshot
    public let json: ByteBuffer
    /// Nil when no `xy.v1.proto` client held the topic as it was encoded.
    public let proto: ByteBuffer?

    public init(snapshot: Xy_Md_V1_Snapshot, json: ByteBuffer, proto: ByteBuffer?) {
        self.snapshot = snapshot
        self.json = json
        self.proto = proto
    }

    public var group: String { snapshot.group }
    public var seq: UInt64 { snapshot.seq }
    /// The producer run `seq` belongs to: a snapshot of a new epoch replaces every older state.
    public var epoch: UInt64 { snapshot.epoch }

    /// The shared frame, or a proto client's own (see ``TickItem/frame(_:encoder:nowNs:)``).
    public func frame(_ encoding: FrameEncoding, encoder: MessageEncoder, nowNs: Int64) -> ByteBuffer {
        encoding == .json ? json : proto ?? encoder.snapshotFrame(snapshot, subject: Topic.tickSubject(group: group), nowNs: nowNs, .proto)
    }
}

/// The latest snapshot of one group and the contiguous batches after it: what a new subscriber
/// is sent so its state is whole from the first frame (snapshot, then batches with greater seq).
///
/// A value with no I/O: the hub feeds it every batch and snapshot it receives and asks for a
/// snapshot (`xy.md.snapshot.get.<group>`) whenever `needsSnapshot` says the run is broken.
/// Which batch follows which is decided by MarketData's `SequenceTracker` (the sequence rules),
/// fed the base and every batch kept after it.
public struct GroupCache: Sendable {
    /// What one batch did to the cache.
    public enum BatchResult: Hashable, Sendable {
        /// It extends the run.
        case accepted
        /// Its seq was already covered.
        case duplicate
        /// Batches between `expected` and the batch's first seq never arrived: the snapshot no
        /// longer bridges to the batches, a new one is needed.
        case gap(expected: UInt64, received: UInt64)
        /// The producer started a new run (it could not recover the group): everything cached
        /// from epoch `previous` is dropped, the batch starts the new run, and every subscriber
        /// needs the new epoch's snapshot as its base.
        case newEpoch(previous: UInt64)
    }

    /// What one snapshot did to the cache.
    public enum SnapshotResult: Hashable, Sendable {
        /// It is the new base (newer than the old one, and bridging to the batches kept).
        case applied
        /// It is the base of a new epoch; everything cached from epoch `previous` is dropped.
        case newEpoch(previous: UInt64)
        /// Not newer than the base, or not bridging to the batches kept.
        case refused
    }

    public let group: String
    /// The base of the replay; nil until one arrives, and after a gap until a newer one arrives.
    public private(set) var snapshot: SnapshotItem?
    /// Batches after `snapshot` (or, without one, since the last gap), contiguous, oldest first.
    public private(set) var batches: Deque<TickItem> = []
    /// The sequence rules' position: the epoch and newest seq seen (batch or snapshot).
    public private(set) var sequence = SequenceTracker()
    /// Bound on `batches` when snapshots stop arriving (at 30 batches/s, about 17 s).
    public let maxBatches: Int

    public init(group: String, maxBatches: Int = 512) {
        self.group = group
        self.maxBatches = max(1, maxBatches)
    }

    /// True while a new subscriber cannot be given a whole state.
    public var needsSnapshot: Bool { snapshot == nil }

    /// The newest seq seen (batch or snapshot) in the current epoch; nil before the first.
    public var lastSeq: UInt64? { sequence.epoch == nil ? nil : sequence.lastSeq }

    /// The epoch followed; nil before the first batch or snapshot.
    public var epoch: UInt64? { sequence.epoch }

    public mutating func add(_ item: TickItem) -> BatchResult {
        switch sequence.batch(epoch: item.epoch, seq: item.seq, firstSeq: item.batch.firstSeq) {
        case .duplicate:
            return .duplicate
        case .gap(let missing):
            snapshot = nil
            batches = [item]
            return .gap(expected: missing.lowerBound, received: missing.upperBound + 1)
        case .newEpoch(let previous):
            snapshot = nil
            batches = [item]
            return .newEpoch(previous: previous)
        case .accepted:
            break
        }
        batches.append(item)
        if batches.count > maxBatches {
            batches.removeFirst()
            // The snapshot no longer reaches the oldest batch kept.
            if let base = snapshot, let first = batches.first, first.firstSeq > base.seq + 1 { snapshot = nil }
        }
        return .accepted
    }

    /// Takes a snapshot as the new base when it starts a new epoch, or when it is newer than the
    /// current base and bridges to the batches kept.
    public mutating func apply(_ item: SnapshotItem) -> SnapshotResult {
        var rules = sequence
        if case .newEpoch(let previous) = rules.snapshot(epoch: item.epoch, seq: item.seq) {
            snapshot = item
            batches.removeAll()
            sequence = rules
            return .newEpoch(previous: previous)
        }
        // The same epoch (or the first one seen).
        if let base = snapshot, item.seq <= base.seq { return .refused }
        var kept = batches
        while let first = kept.first, first.seq <= item.seq { kept.removeFirst() }
        if let first = kept.first, first.firstSeq > item.seq + 1 { return .refused }
        snapshot = item
        batches = kept
        // The rules' position is the base followed by every batch kept after it (the cache keeps
        // every batch it accepts, so that is also the newest seq seen).
        rules = SequenceTracker(epoch: item.epoch, lastSeq: item.seq)
        for batch in kept { _ = rules.batch(epoch: batch.epoch, seq: batch.seq, firstSeq: batch.batch.firstSeq) }
        sequence = rules
        return .applied
    }
    /// The snapshot with every kept batch applied (ticks are full symbol states), as of the newest
    /// batch: a base that spares new subscribers a long replay. nil without a base or batches.
    public func folded() -> Xy_Md_V1_Snapshot? {
        guard let base = snapshot, let newest = batches.last else { return nil }
        var snapshot = base.snapshot
        var position: [String: Int] = [:]
        position.reserveCapacity(snapshot.ticks.count)
        for (index, tick) in snapshot.ticks.enumerated() { position[tick.symbol] = index }
        for item in batches {
            for tick in item.batch.ticks {
                if let index = position[tick.symbol] {
                    snapshot.ticks[index] = tick
                } else {
                    position[tick.symbol] = snapshot.ticks.count
                    snapshot.ticks.append(tick)
                }
            }
        }
        snapshot.seq = newest.seq
        snapshot.timeNs = newest.batch.publishTimeNs
        return snapshot
    }

    /// The snapshot and every batch after it, or nil while there is no snapshot.
    public var replay: (snapshot: SnapshotItem, batches: [TickItem])? {
        snapshot.map { ($0, Array(batches)) }
    }
}

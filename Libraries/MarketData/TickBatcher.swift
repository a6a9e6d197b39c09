import XYContracts

/// Collects the symbols of one group that changed since the last batch and numbers the batches:
/// `seq` starts at 1 (or continues from the last one published before a restart) and rises by
/// exactly 1 per batch. Only indices are remembered; the ticks are read from the state when the
/// batch is made, so the latest value of a symbol wins however often it changed.
public struct TickBatcher: Sendable {
    /// The group the batches are for.
    public let group: String
    /// The seq of the last batch made; 0 before the first one.
    public private(set) var lastSeq: UInt64
    /// Changed symbol indices in the order they first changed since the last batch.
    private var changed: [Int] = []
    /// `isChanged[index]`: already in `changed` (grows with the state's symbols).
    private var isChanged: [Bool] = []

    /// A batcher whose next batch is `lastSeq + 1`: 0 for a fresh group, the seq of the last
    /// batch in `XY_TICKS` after a restart.
    public init(group: String, lastSeq: UInt64 = 0) {
        self.group = group
        self.lastSeq = lastSeq
    }

    /// Notes that the symbol at `index` (a `MarketState` index) changed; cheap when it already
    /// changed since the last batch.
    public mutating func markChanged(_ index: Int) {
        if index >= isChanged.count {
            isChanged.append(contentsOf: repeatElement(false, count: index + 1 - isChanged.count))
        }
        if isChanged[index] { return }
        isChanged[index] = true
        changed.append(index)
    }

    /// Notes that every symbol of `state` changed (a new trading day, a restored state that
    /// consumers must see in full).
    public mutating func markAllChanged(in state: MarketState) {
        for index in state.symbols.indices {
            markChanged(index)
        }
    }

    /// The batch of everything that changed since the last one, with the next seq, or nil when
    /// nothing changed (no seq is used up then).
    public mutating func makeBatch(from state: MarketState, publishTimeNs: Int64) -> Xy_Md_V1_TickBatch? {
        guard !changed.isEmpty else { return nil }
        var batch = Xy_Md_V1_TickBatch()
        batch.group = group
        lastSeq += 1
        batch.seq = lastSeq
        batch.publishTimeNs = publishTimeNs
        batch.ticks.reserveCapacity(changed.count)
        for index in changed {
            batch.ticks.append(state.symbols[index].tick)
            isChanged[index] = false
        }
        changed.removeAll(keepingCapacity: true)
        return batch
    }
}

import XYContracts

extension Xy_Md_V1_TickBatch {
    /// Folds the next batch of the same group into this one, for a consumer that fell behind
    /// (the merge function of a `ConflatingQueue` keyed by subject): the result covers both
    /// seqs (`first_seq` is where the merged run starts), carries the later epoch and publish time, and
    /// the latest tick of each symbol, in the order symbols first appeared. Ticks are full
    /// states, so applying the merged batch equals applying both.
    ///
    /// Only a batch that directly follows this one may be merged: a consumer that tracks the
    /// merged batch's `first_seq...seq` then sees a gap wherever one really was.
    public mutating func merge(next later: Xy_Md_V1_TickBatch) {
        if firstSeq == 0 { firstSeq = seq }
        seq = later.seq
        epoch = later.epoch
        publishTimeNs = later.publishTimeNs
        var position: [String: Int] = [:]
        position.reserveCapacity(ticks.count)
        for (index, tick) in ticks.enumerated() {
            position[tick.symbol] = index
        }
        for tick in later.ticks {
            if let index = position[tick.symbol] {
                ticks[index] = tick
            } else {
                position[tick.symbol] = ticks.count
                ticks.append(tick)
            }
        }
    }
}

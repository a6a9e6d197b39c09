import XYContracts

extension MarketState {
    /// The full state of the group as a `Snapshot`: every symbol in index order (or only
    /// `symbols`, for a `SnapshotRequest` that names some; unknown ones are left out), stamped
    /// with `seq`, the seq of the last batch whose changes it contains.
    ///
    /// Taking it between two batches is fine: changes not yet batched are in the snapshot and
    /// in the next batch too, and applying a symbol's newer tick over it changes nothing.
    public func snapshot(group: String, seq: UInt64, timeNs: Int64, symbols only: [String] = []) -> Xy_Md_V1_Snapshot {
        var snapshot = Xy_Md_V1_Snapshot()
        snapshot.group = group
        snapshot.seq = seq
        snapshot.timeNs = timeNs
        if only.isEmpty {
            snapshot.ticks.reserveCapacity(symbols.count)
            for state in symbols {
                snapshot.ticks.append(state.tick)
            }
        } else {
            snapshot.ticks.reserveCapacity(only.count)
            for symbol in only {
                if let state = self[symbol] { snapshot.ticks.append(state.tick) }
            }
        }
        return snapshot
    }

    /// The state a snapshot describes, symbols at the indices of their order in it; apply the
    /// batches with a greater seq after it to catch up. Counters start at zero.
    public init(snapshot: Xy_Md_V1_Snapshot) throws(MarketDataError) {
        self.init()
        for tick in snapshot.ticks {
            guard index(of: tick.symbol) == nil else {
                throw MarketDataError(.duplicateSymbol, "\(tick.symbol) twice in the snapshot of \(snapshot.group) at seq \(snapshot.seq)")
            }
            try apply(tick)
        }
    }
}

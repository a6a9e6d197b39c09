import MarketData
import Testing
import XYContracts

@Suite("Snapshots and replay")
struct SnapshotReplayTests {
    /// A random event: mostly in order, some stale or duplicated, a few symbols, all three kinds.
    private static func randomEvent(_ random: inout SplitMix64, clock: inout Int64, symbols: [String]) -> Xy_Md_V1_MarketEvent {
        clock += Int64.random(in: 0...3, using: &random)
        // One event in eight is late by up to 5 ns: stale for its kind, or not.
        let time = Int.random(in: 0..<8, using: &random) == 0 ? clock - Int64.random(in: 1...5, using: &random) : clock
        let symbol = symbols[Int.random(in: 0..<symbols.count, using: &random)]
        let sequence = UInt64.random(in: 0...3, using: &random)
        let price = Double(Int.random(in: 9_000...11_000, using: &random)) / 100
        switch Int.random(in: 0..<10, using: &random) {
        case 0..<5:
            return Events.trade(symbol, price: price, size: Double(Int.random(in: 0...500, using: &random)), timeNs: time, sequence: sequence)
        case 5..<9:
            return Events.quote(symbol, bid: price - 0.01, bidSize: 3, ask: price + 0.01, askSize: Double(Int.random(in: 1...9, using: &random)), timeNs: time, sequence: sequence)
        default:
            return Events.aggregate(symbol, open: price, high: price + 1, low: price - 1, close: price, dayVolume: Double(Int.random(in: 0...100_000, using: &random)), timeNs: time, sequence: sequence)
        }
    }

    @Test(
        "a snapshot plus the batches after its seq rebuild the exact state, which takes later events as the original does (random events, random snapshot points)",
        arguments: 0..<200
    )
    func snapshotPlusBatchesIsTheState(seed: Int) throws {
        var random = SplitMix64(seed: UInt64(seed))
        let symbols = (0..<Int.random(in: 1...12, using: &random)).map { "S\($0)" }
        var state = MarketState()
        var batcher = TickBatcher(group: "demo", lastSeq: UInt64.random(in: 0...1_000, using: &random))
        var clock: Int64 = 1_000
        var batches: [Xy_Md_V1_TickBatch] = []
        // The empty state before the first batch is a snapshot point too.
        var snapshots = [state.snapshot(group: "demo", seq: batcher.lastSeq, timeNs: 0)]

        for step in 0..<Int.random(in: 1...400, using: &random) {
            let event = Self.randomEvent(&random, clock: &clock, symbols: symbols)
            if case .applied(let index) = state.apply(event) { batcher.markChanged(index) }
            if Int.random(in: 0..<50, using: &random) == 0 {
                _ = state.setPreviousClose(Double(Int.random(in: 90...110, using: &random)), for: symbols[0])
                batcher.markChanged(state.index(of: symbols[0])!)
            }
            if Int.random(in: 0..<7, using: &random) == 0, let batch = batcher.makeBatch(from: state, publishTimeNs: clock) {
                batches.append(batch)
            }
            // Snapshots between batches too: they may be ahead of their seq.
            if Int.random(in: 0..<25, using: &random) == 0 {
                snapshots.append(state.snapshot(group: "demo", seq: batcher.lastSeq, timeNs: Int64(step)))
            }
        }
        if let batch = batcher.makeBatch(from: state, publishTimeNs: clock) { batches.append(batch) }
        #expect(batches.map(\.seq) == Array((batches.first?.seq ?? 1)..<((batches.first?.seq ?? 1) + UInt64(batches.count))))

        // Events after the end, some stale: a rebuilt state must take them exactly as the original.
        var after: [Xy_Md_V1_MarketEvent] = []
        var lateClock = clock - 6
        for _ in 0..<40 {
            after.append(Self.randomEvent(&random, clock: &lateClock, symbols: symbols))
        }
        var continued = state
        let expectedOutcomes = after.map { continued.apply($0) }

        for snapshot in snapshots {
            // Through the wire, so every field the replica needs is in the contract.
            let decoded = try Xy_Md_V1_Snapshot(serializedBytes: try snapshot.serializedBytes() as [UInt8])
            var replica = try MarketState(snapshot: decoded)
            var tracker = SequenceTracker(epoch: decoded.epoch, lastSeq: decoded.seq)
            for batch in batches where batch.seq > decoded.seq {
                let wire = try Xy_Md_V1_TickBatch(serializedBytes: try batch.serializedBytes() as [UInt8])
                #expect(tracker.batch(epoch: wire.epoch, seq: wire.seq, firstSeq: wire.firstSeq) == .accepted)
                try replica.apply(wire)
            }
            #expect(replica.symbols == state.symbols, "seed \(seed), snapshot at seq \(snapshot.seq)")
            #expect(after.map { replica.apply($0) } == expectedOutcomes, "seed \(seed): a later event judged differently")
            #expect(replica.symbols == continued.symbols)
        }
    }

    @Test("a rebuilt state judges later events stale exactly as the original does")
    func staleAfterRestore() throws {
        var state = MarketState()
        _ = state.apply(Events.trade("AAPL", price: 100, size: 1, timeNs: 50, sequence: 9))
        _ = state.apply(Events.quote("AAPL", bid: 99, bidSize: 1, ask: 101, askSize: 1, timeNs: 60, sequence: 3))
        var replica = try MarketState(snapshot: state.snapshot(group: "g", seq: 1, timeNs: 0))
        let later = [
            Events.trade("AAPL", price: 1, size: 1, timeNs: 50, sequence: 9),
            Events.trade("AAPL", price: 2, size: 1, timeNs: 55),
            Events.quote("AAPL", bid: 1, bidSize: 1, ask: 2, askSize: 1, timeNs: 59),
        ]
        for event in later {
            #expect(replica.apply(event) == state.apply(event))
        }
        #expect(replica.symbols == state.symbols)
    }

    @Test("a snapshot for named symbols carries only the known ones; a snapshot naming a symbol twice is refused")
    func partialAndDuplicate() throws {
        var state = MarketState()
        _ = state.apply(Events.trade("AAPL", price: 100, size: 1, timeNs: 1))
        _ = state.apply(Events.trade("MSFT", price: 400, size: 1, timeNs: 1))
        let partial = state.snapshot(group: "g", seq: 7, timeNs: 9, symbols: ["MSFT", "NOPE"])
        #expect(partial.group == "g" && partial.seq == 7 && partial.timeNs == 9)
        #expect(partial.ticks.map(\.symbol) == ["MSFT"])

        var twice = state.snapshot(group: "g", seq: 7, timeNs: 9)
        twice.ticks.append(twice.ticks[0])
        #expect(throws: MarketDataError.self) { try MarketState(snapshot: twice) }
        do {
            _ = try MarketState(snapshot: twice)
        } catch {
            #expect(error.code == .duplicateSymbol)
        }
    }
}

import MarketData
import Testing
import XYContracts

@Suite("Tick batches")
struct TickBatcherTests {
    @Test("seq starts at 1 and rises by exactly 1 per batch; nothing changed, no batch and no seq used")
    func sequence() throws {
        var state = MarketState()
        var batcher = TickBatcher(group: "demo")
        let none = batcher.makeBatch(from: state, publishTimeNs: 1)
        #expect(none == nil)
        #expect(batcher.lastSeq == 0)

        for step in 1...5 {
            if case .applied(let index) = state.apply(Events.trade("AAPL", price: 100 + Double(step), size: 1, timeNs: Int64(step) + 1)) {
                batcher.markChanged(index)
            }
            let made = batcher.makeBatch(from: state, publishTimeNs: Int64(step) * 33)
            let batch = try #require(made)
            #expect(batch.group == "demo")
            #expect(batch.seq == UInt64(step))
            #expect(batch.firstSeq == 0)
            #expect(batch.publishTimeNs == Int64(step) * 33)
            let again = batcher.makeBatch(from: state, publishTimeNs: 0)
            #expect(again == nil, "a second batch with nothing changed")
        }
        #expect(batcher.lastSeq == 5)
    }

    @Test("continues from the last seq published before a restart")
    func continues() throws {
        var state = MarketState()
        var batcher = TickBatcher(group: "demo", lastSeq: 41)
        batcher.markChanged(state.insert("AAPL"))
        let made = batcher.makeBatch(from: state, publishTimeNs: 0)
        #expect(made?.seq == 42)
    }

    @Test("latest value per symbol wins, each symbol once, in the order they first changed")
    func latestWins() throws {
        var state = MarketState()
        var batcher = TickBatcher(group: "demo")
        let events = [
            Events.trade("MSFT", price: 400, size: 1, timeNs: 1),
            Events.trade("AAPL", price: 100, size: 1, timeNs: 2),
            Events.trade("MSFT", price: 401, size: 2, timeNs: 3),
            Events.quote("AAPL", bid: 99, bidSize: 1, ask: 101, askSize: 1, timeNs: 4),
            Events.trade("MSFT", price: 402, size: 3, timeNs: 5),
            Events.trade("MSFT", price: 1, size: 3, timeNs: 1),  // stale: not marked
        ]
        for event in events {
            if case .applied(let index) = state.apply(event) { batcher.markChanged(index) }
        }
        let made = batcher.makeBatch(from: state, publishTimeNs: 10)
        let batch = try #require(made)
        #expect(batch.ticks.map(\.symbol) == ["MSFT", "AAPL"])
        #expect(batch.ticks[0].last == 402)
        #expect(batch.ticks[0].volume == 6)
        #expect(batch.ticks[1].bid == 99 && batch.ticks[1].last == 100)
        #expect(batch.ticks[0] == state["MSFT"]?.tick)

        // Only what changed after the batch is in the next one.
        if case .applied(let index) = state.apply(Events.trade("AAPL", price: 101, size: 1, timeNs: 6)) {
            batcher.markChanged(index)
        }
        let madeNext = batcher.makeBatch(from: state, publishTimeNs: 20)
        let next = try #require(madeNext)
        #expect(next.seq == 2)
        #expect(next.ticks.map(\.symbol) == ["AAPL"])
    }

    @Test("a merged batch covers both seqs and keeps the latest tick of each symbol")
    func merge() throws {
        var state = MarketState()
        var batcher = TickBatcher(group: "demo")
        var batches: [Xy_Md_V1_TickBatch] = []
        for (step, symbol) in ["AAPL", "MSFT", "AAPL"].enumerated() {
            if case .applied(let index) = state.apply(Events.trade(symbol, price: 10 + Double(step), size: 1, timeNs: Int64(step) + 1)) {
                batcher.markChanged(index)
            }
            let made = batcher.makeBatch(from: state, publishTimeNs: Int64(step))
            batches.append(try #require(made))
        }
        var merged = batches[0]
        merged.merge(next: batches[1])
        merged.merge(next: batches[2])
        #expect(merged.firstSeq == 1 && merged.seq == 3 && merged.publishTimeNs == 2)
        #expect(merged.ticks.map(\.symbol) == ["AAPL", "MSFT"])
        #expect(merged.ticks[0].last == 12)
    }

    @Test("a new day changes every symbol: markAllChanged puts each in the next batch once")
    func allChanged() throws {
        var state = MarketState()
        var batcher = TickBatcher(group: "demo")
        for symbol in ["AAPL", "MSFT", "SPY"] {
            _ = state.apply(Events.trade(symbol, price: 10, size: 1, timeNs: 1))
        }
        batcher.markChanged(1)
        state.startNewDay()
        batcher.markAllChanged(in: state)
        let made = batcher.makeBatch(from: state, publishTimeNs: 0)
        let batch = try #require(made)
        #expect(batch.ticks.map(\.symbol) == ["MSFT", "AAPL", "SPY"])
        #expect(batch.ticks.allSatisfy { $0.previousClose == 10 && $0.volume == 0 })
    }
}

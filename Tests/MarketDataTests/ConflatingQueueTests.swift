import MarketData
import Testing
import XYContracts

@Suite("Conflating send queue")
struct ConflatingQueueTests {
    private func drain(_ queue: inout ConflatingQueue<String, Int>) -> [String] {
        var out: [String] = []
        while let (key, element) = queue.dequeue() { out.append("\(key)=\(element)") }
        return out
    }

    @Test("the latest element per key wins and keeps its place in line")
    func conflation() throws {
        var queue = try ConflatingQueue<String, Int>(capacity: 3, policy: .dropNewest)
        #expect(queue.enqueue(1, for: "a") == .enqueued)
        #expect(queue.enqueue(2, for: "b") == .enqueued)
        #expect(queue.enqueue(3, for: "a") == .conflated)
        #expect(queue.count == 2)
        #expect(drain(&queue) == ["a=3", "b=2"])
        #expect(queue.isEmpty)
        let counters = queue.counters
        #expect(counters.enqueued == 2 && counters.conflated == 1 && counters.dequeued == 2 && counters.highWaterMark == 2)
        #expect(counters.droppedOldest == 0 && counters.droppedNewest == 0 && counters.overflows == 0)
    }

    @Test("full and conflatable: the element is merged, nothing is dropped")
    func fullButConflatable() throws {
        var queue = try ConflatingQueue<String, Int>(capacity: 2, policy: .disconnect)
        _ = queue.enqueue(1, for: "a")
        _ = queue.enqueue(2, for: "b")
        #expect(queue.enqueue(5, for: "b") { queued, new in queued += new } == .conflated)
        #expect(drain(&queue) == ["a=1", "b=7"])
    }

    @Test("drop oldest evicts the head and queues the new element")
    func dropOldest() throws {
        var queue = try ConflatingQueue<String, Int>(capacity: 2, policy: .dropOldest)
        _ = queue.enqueue(1, for: "a")
        _ = queue.enqueue(2, for: "b")
        #expect(queue.enqueue(3, for: "c") == .droppedOldest(evicted: "a"))
        #expect(queue.enqueue(4, for: "a") == .droppedOldest(evicted: "b"), "an evicted key is not conflatable any more")
        #expect(drain(&queue) == ["c=3", "a=4"])
        #expect(queue.counters.droppedOldest == 2 && queue.counters.enqueued == 4 && queue.counters.highWaterMark == 2)
    }

    @Test("drop newest refuses the new element and keeps the queue as it was")
    func dropNewest() throws {
        var queue = try ConflatingQueue<String, Int>(capacity: 2, policy: .dropNewest)
        _ = queue.enqueue(1, for: "a")
        _ = queue.enqueue(2, for: "b")
        #expect(queue.enqueue(3, for: "c") == .droppedNewest)
        #expect(queue.counters.droppedNewest == 1)
        #expect(drain(&queue) == ["a=1", "b=2"])
    }

    @Test("disconnect refuses the new element and says so; emptied, the queue takes elements again")
    func disconnect() throws {
        var queue = try ConflatingQueue<String, Int>(capacity: 1, policy: .disconnect)
        _ = queue.enqueue(1, for: "a")
        #expect(queue.enqueue(2, for: "b") == .overflow)
        #expect(queue.counters.overflows == 1)
        queue.removeAll()
        #expect(queue.isEmpty)
        #expect(queue.enqueue(3, for: "b") == .enqueued)
    }

    @Test("a capacity below 1 is refused")
    func capacity() {
        #expect(throws: MarketDataError.self) { try ConflatingQueue<String, Int>(capacity: 0, policy: .dropOldest) }
    }

    @Test("tick batches queued per subject merge instead of losing the older batch's symbols")
    func tickBatches() throws {
        var queue = try ConflatingQueue<String, Xy_Md_V1_TickBatch>(capacity: 4, policy: .disconnect)
        var state = MarketState()
        var batcher = TickBatcher(group: "demo")
        for (step, symbol) in ["AAPL", "MSFT"].enumerated() {
            if case .applied(let index) = state.apply(Events.trade(symbol, price: 10, size: 1, timeNs: Int64(step) + 1)) {
                batcher.markChanged(index)
            }
            let made = batcher.makeBatch(from: state, publishTimeNs: 0)
            let batch = try #require(made)
            _ = queue.enqueue(batch, for: "xy.md.tick.demo") { queued, new in queued.merge(next: new) }
        }
        let next = queue.dequeue()
        let merged = try #require(next).element
        #expect(merged.firstSeq == 1 && merged.seq == 2)
        #expect(merged.ticks.map(\.symbol) == ["AAPL", "MSFT"])
    }
}

import MarketData
import Testing

@Suite("Sequence tracker")
struct SequenceTrackerTests {
    @Test("in order, duplicate, gap with the missing range, reset")
    func outcomes() {
        var tracker = SequenceTracker()
        #expect(tracker.observe(5) == .inOrder, "the first seq seen")
        #expect(tracker.observe(6) == .inOrder)
        #expect(tracker.observe(6) == .duplicate)
        #expect(tracker.lastSeq == 6)
        #expect(tracker.observe(10) == .gap(missing: 7...9))
        #expect(tracker.observe(11) == .inOrder, "after a gap, the tracker follows the new seq")
        #expect(tracker.observe(12) == .inOrder)
        #expect(tracker.observe(1) == .reset(previous: 12), "the producer started over")
        #expect(tracker.observe(2) == .inOrder)
        #expect(tracker.observe(13) == .gap(missing: 3...12))
        #expect(tracker.observe(8) == .reset(previous: 13), "going back anywhere below is a reset too")
        let counters = tracker.counters
        #expect(counters.inOrder == 5 && counters.duplicates == 1 && counters.gaps == 2 && counters.missing == 13 && counters.resets == 2)
    }

    @Test("after a snapshot at seq N, N + 1 is in order and N + 2 is a gap of one")
    func fromSnapshot() {
        var tracker = SequenceTracker(lastSeq: 100)
        #expect(tracker.observe(101) == .inOrder)
        tracker.restart(at: 200)
        #expect(tracker.observe(202) == .gap(missing: 201...201))
    }

    @Test("a merged batch is in order when it starts at or before the next seq")
    func mergedBatches() {
        var tracker = SequenceTracker(lastSeq: 10)
        #expect(tracker.observe(14, firstSeq: 11) == .inOrder)
        #expect(tracker.observe(16, firstSeq: 13) == .inOrder, "overlap is harmless: ticks are full states")
        #expect(tracker.observe(20, firstSeq: 19) == .gap(missing: 17...18))
        #expect(tracker.lastSeq == 20)
    }
}

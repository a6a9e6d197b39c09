@testable import Gateway
import Testing

@Suite("Conflating send queue")
struct ConflatingQueueTests {
    private func drain(_ queue: inout ConflatingQueue<String, Int>) -> [String] {
        var out: [String] = []
        while let (key, element) = queue.dequeue() { out.append("\(key)=\(element)") }
        return out
    }

    /// Enqueues with the merge the tests use: the new element replaces the queued one.
    private func put(_ value: Int, _ key: String, in queue: inout ConflatingQueue<String, Int>) -> ConflatingQueue<String, Int>.EnqueueResult {
        queue.enqueue(value, for: key) { queued, new in queued = new }
    }

    @Test("the latest element per key wins and keeps its place in line")
    func conflation() {
        var queue = ConflatingQueue<String, Int>(capacity: 3, policy: .dropNewest)
        #expect(put(1, "a", in: &queue) == .enqueued)
        #expect(put(2, "b", in: &queue) == .enqueued)
        #expect(put(3, "a", in: &queue) == .conflated)
        #expect(queue.count == 2)
        #expect(drain(&queue) == ["a=3", "b=2"])
        #expect(queue.isEmpty)
    }

    @Test("full and conflatable: the element is merged, nothing is dropped")
    func fullButConflatable() {
        var queue = ConflatingQueue<String, Int>(capacity: 2, policy: .dropNewest)
        _ = put(1, "a", in: &queue)
        _ = put(2, "b", in: &queue)
        #expect(queue.enqueue(5, for: "b") { queued, new in queued += new } == .conflated)
        #expect(drain(&queue) == ["a=1", "b=7"])
    }

    @Test("drop oldest evicts the head and queues the new element")
    func dropOldest() {
        var queue = ConflatingQueue<String, Int>(capacity: 2, policy: .dropOldest)
        _ = put(1, "a", in: &queue)
        _ = put(2, "b", in: &queue)
        #expect(put(3, "c", in: &queue) == .droppedOldest(evicted: "a"))
        #expect(put(4, "a", in: &queue) == .droppedOldest(evicted: "b"), "an evicted key is not conflatable any more")
        #expect(drain(&queue) == ["c=3", "a=4"])
    }

    @Test("drop newest refuses the new element and keeps the queue as it was")
    func dropNewest() {
        var queue = ConflatingQueue<String, Int>(capacity: 2, policy: .dropNewest)
        _ = put(1, "a", in: &queue)
        _ = put(2, "b", in: &queue)
        #expect(put(3, "c", in: &queue) == .droppedNewest)
        #expect(drain(&queue) == ["a=1", "b=2"])
        #expect(put(3, "c", in: &queue) == .enqueued, "emptied, the queue takes elements again")
    }

    @Test("remove(where:) takes out the matching keys and keeps the others in order")
    func removeWhere() {
        var queue = ConflatingQueue<String, Int>(capacity: 4, policy: .dropOldest)
        for (value, key) in [(1, "a.1"), (2, "b.1"), (3, "a.2"), (4, "b.2")] { _ = put(value, key, in: &queue) }
        #expect(queue.remove { $0.hasPrefix("a.") } == [1, 3])
        #expect(queue.count == 2)
        #expect(put(5, "a.1", in: &queue) == .enqueued, "a removed key is queued afresh, at the back")
        #expect(drain(&queue) == ["b.1=2", "b.2=4", "a.1=5"])
    }
}

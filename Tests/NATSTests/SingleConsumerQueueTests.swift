import DequeModule
import NIOConcurrencyHelpers
import Testing

@testable import NATS

/// The smallest owner: a lock around a queue of integers, each weighing its value.
private final class IntQueue: SingleConsumerQueueOwner, @unchecked Sendable {
    private let lock = NIOLock()
    private var queue = SingleConsumerQueue<Int>()

    func withQueueLocked<R>(_ body: (inout SingleConsumerQueue<Int>) throws -> R) rethrows -> R {
        try lock.withLock { try body(&queue) }
    }

    static func queueWeight(of element: Int) -> Int { element }

    func push(_ value: Int) {
        withQueueLocked { $0.append(value, weight: value) }?.resume()
    }

    func finish(_ error: (any Error)? = nil, discard: Bool = false) {
        withQueueLocked { $0.finish(error: error, discard: discard) }?.resume()
    }

    var snapshot: (items: [Int], weight: Int) {
        withQueueLocked { (Array($0.items), $0.pendingWeight) }
    }
}

/// Reads from a fresh batch until `count` elements or the end.
private func read(_ owner: IntQueue, _ count: Int) async throws -> [Int] {
    let batch = ConsumerBatch(owner: owner)
    var out: [Int] = []
    while out.count < count {
        if let value = batch.popFirst() {
            out.append(value)
            continue
        }
        try await batch.refill()
        if batch.isEmpty { break }
    }
    return out
}

@Suite("Single-consumer queue")
struct SingleConsumerQueueTests {
    @Test("take moves everything queued at once and counts the batch; the weight returns to zero")
    func takeAll() throws {
        var queue = SingleConsumerQueue<Int>()
        #expect(queue.append(1, weight: 1) == nil)
        #expect(queue.append(2, weight: 2) == nil)
        #expect(queue.pendingWeight == 3)
        var batch: Deque<Int> = []
        #expect(try queue.take(into: &batch) == .taken)
        #expect(Array(batch) == [1, 2])
        #expect(queue.pendingWeight == 0)
        #expect(queue.batchesTaken == 1)
        var empty: Deque<Int> = []
        #expect(try queue.take(into: &empty) == .empty)
    }

    @Test("finish: what is queued is read first, then the error once, then the end")
    func finishAfterQueued() throws {
        var queue = SingleConsumerQueue<Int>()
        _ = queue.append(7, weight: 7)
        #expect(queue.finish(error: NATSError(.slowConsumer, "x"), discard: false) == nil)
        var batch: Deque<Int> = []
        #expect(try queue.take(into: &batch) == .taken)
        #expect(Array(batch) == [7])
        var next: Deque<Int> = []
        #expect(throws: NATSError.self) { try queue.take(into: &next) }
        #expect(try queue.take(into: &next) == .finished)
    }

    @Test("a batch put back goes ahead of newer elements with its weight; after a discarding finish it is dropped")
    func putBack() {
        var queue = SingleConsumerQueue<Int>()
        _ = queue.append(5, weight: 5)
        queue.putBack([3, 4], weight: 7)
        #expect(Array(queue.items) == [3, 4, 5])
        #expect(queue.pendingWeight == 12)
        _ = queue.finish(error: nil, discard: true)
        queue.putBack([1], weight: 1)
        #expect(queue.items.isEmpty)
        #expect(queue.pendingWeight == 0)
    }

    @Test("a consumer that stops early hands its unread batch to the next one, in order")
    func stoppedConsumerHandsOn() async throws {
        let owner = IntQueue()
        for value in 1...6 { owner.push(value) }
        #expect(try await read(owner, 2) == [1, 2])
        #expect(owner.snapshot.items == [3, 4, 5, 6])
        #expect(owner.snapshot.weight == 18)
        owner.push(7)
        owner.finish()
        #expect(try await read(owner, 100) == [3, 4, 5, 6, 7])
    }

    @Test("a reader waiting for elements gets the first one, then the end")
    func waitingReader() async throws {
        let owner = IntQueue()
        let reader = Task { try await read(owner, 2) }
        owner.push(1)
        owner.finish()
        #expect(try await reader.value == [1])
    }

    @Test("a reader whose task is cancelled while it waits ends without an element")
    func cancelledReader() async throws {
        let owner = IntQueue()
        let reader = Task { try await read(owner, 1) }
        reader.cancel()
        #expect(try await reader.value == [])
        owner.push(1)
        #expect(try await read(owner, 1) == [1])
    }
}

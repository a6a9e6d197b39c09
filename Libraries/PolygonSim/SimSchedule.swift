/// Whose turn it is in the market: stride scheduling over the active symbols (each symbol's next
/// turn is one stride, 1/activity, after its last), so a symbol with twice the activity trades
/// twice as often, its turns evenly spread, the order fixed by the operations alone, at O(log n)
/// an event however many symbols trade.
struct SimSchedule: Sendable {
    private struct Entry: Sendable {
        var pass: Double
        var index: Int
        var generation: UInt32

        func precedes(_ other: Entry) -> Bool {
            pass != other.pass ? pass < other.pass : index < other.index
        }
    }

    /// A min-heap of turns; an entry whose generation is no longer its symbol's is stale (the
    /// symbol stopped, perhaps restarted) and skipped when it surfaces.
    private var heap: [Entry] = []
    /// Activity by symbol index, 0 while the symbol does not trade.
    private var weights: [Int] = []
    private var generations: [UInt32] = []
    /// The pass of the last turn taken: a symbol that starts takes its first turn one stride later.
    private var now: Double = 0
    private var activeCount = 0
    private(set) var totalWeight = 0

    var activeIndices: [Int] {
        weights.indices.filter { weights[$0] > 0 }
    }

    func isActive(_ index: Int) -> Bool {
        index < weights.count && weights[index] > 0
    }

    mutating func activate(_ index: Int, weight: Int) {
        grow(to: index)
        guard weights[index] == 0 else { return }
        let weight = max(1, weight)
        weights[index] = weight
        totalWeight += weight
        activeCount += 1
        generations[index] &+= 1
        push(Entry(pass: now + 1 / Double(weight), index: index, generation: generations[index]))
        // Stopped-and-restarted symbols leave stale entries behind; rebuild before they dominate.
        if heap.count > 2 * activeCount + 64 {
            heap = heap.filter { generations[$0.index] == $0.generation && weights[$0.index] > 0 }
            for position in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(position) }
        }
    }

    mutating func deactivate(_ index: Int) {
        guard index < weights.count, weights[index] > 0 else { return }
        totalWeight -= weights[index]
        weights[index] = 0
        activeCount -= 1
        generations[index] &+= 1
    }

    /// The index of the symbol whose turn it is, or nil when nothing trades.
    mutating func next() -> Int? {
        while let top = heap.first {
            guard generations[top.index] == top.generation, weights[top.index] > 0 else {
                removeTop()
                continue
            }
            now = top.pass
            heap[0].pass += 1 / Double(weights[top.index])
            siftDown(0)
            return top.index
        }
        return nil
    }

    private mutating func grow(to index: Int) {
        while weights.count <= index {
            weights.append(0)
            generations.append(0)
        }
    }

    private mutating func push(_ entry: Entry) {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func removeTop() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        siftDown(0)
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { return }
            var smallest = left
            if left + 1 < heap.count, heap[left + 1].precedes(heap[left]) { smallest = left + 1 }
            guard heap[smallest].precedes(heap[parent]) else { return }
            heap.swapAt(smallest, parent)
            parent = smallest
        }
    }
}

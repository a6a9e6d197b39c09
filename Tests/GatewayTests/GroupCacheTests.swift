import Gateway
import NIOCore
import Testing
import XYContracts

/// The gateway's per-group cache with plain values: the sequence rules as it applies them.
@Suite("Group cache")
struct GroupCacheTests {
    static func tick(_ seq: UInt64, epoch: UInt64 = 1, firstSeq: UInt64 = 0) -> TickItem {
        var batch = Xy_Md_V1_TickBatch()
        batch.group = "demo"
        batch.seq = seq
        batch.firstSeq = firstSeq
        batch.epoch = epoch
        var tick = Xy_Md_V1_SymbolTick()
        tick.symbol = "AAA"
        tick.last = Double(seq)
        batch.ticks = [tick]
        return TickItem(batch: batch, subject: "xy.md.tick.demo", json: ByteBuffer(), proto: nil)
    }

    static func snapshot(_ seq: UInt64, epoch: UInt64 = 1) -> SnapshotItem {
        var snapshot = Xy_Md_V1_Snapshot()
        snapshot.group = "demo"
        snapshot.seq = seq
        snapshot.epoch = epoch
        return SnapshotItem(snapshot: snapshot, json: ByteBuffer(), proto: nil)
    }

    @Test("batches before a snapshot are kept; the snapshot bridges to them and replays the rest")
    func bridge() {
        var cache = GroupCache(group: "demo")
        for seq in UInt64(1)...5 { #expect(cache.add(Self.tick(seq)) == .accepted) }
        #expect(cache.needsSnapshot)
        #expect(cache.apply(Self.snapshot(3)) == .applied)
        #expect(cache.replay?.batches.map(\.seq) == [4, 5])
        #expect(cache.lastSeq == 5, "the position stays at the newest batch, not the snapshot's seq")
        #expect(cache.add(Self.tick(5)) == .duplicate)
        #expect(cache.add(Self.tick(6)) == .accepted)
        #expect(cache.apply(Self.snapshot(2)) == .refused, "older than the base")
        #expect(cache.add(Self.tick(9)) == .gap(expected: 7, received: 9))
        #expect(cache.needsSnapshot)
        #expect(cache.apply(Self.snapshot(7)) == .refused, "does not reach batch 9")
        #expect(cache.apply(Self.snapshot(8)) == .applied)
        #expect(cache.replay?.batches.map(\.seq) == [9])
    }

    @Test("a producer that restarted on an empty stream: its seq 1 resets the cache, its snapshot is the new base")
    func newEpochFromBatch() {
        var cache = GroupCache(group: "demo")
        #expect(cache.apply(Self.snapshot(5000, epoch: 100)) == .applied)
        #expect(cache.add(Self.tick(5001, epoch: 100)) == .accepted)
        #expect(cache.add(Self.tick(1, epoch: 200)) == .newEpoch(previous: 100), "not a duplicate of seq 1 of the old run")
        #expect(cache.needsSnapshot)
        #expect(cache.epoch == 200 && cache.lastSeq == 1)
        #expect(cache.add(Self.tick(2, epoch: 200)) == .accepted)
        #expect(cache.apply(Self.snapshot(1, epoch: 200)) == .applied)
        #expect(cache.replay?.snapshot.epoch == 200)
        #expect(cache.replay?.batches.map(\.seq) == [2])
        #expect(cache.add(Self.tick(3, epoch: 200)) == .accepted)
    }

    @Test("a snapshot with a lower seq and a different epoch replaces everything cached")
    func newEpochFromSnapshot() {
        var cache = GroupCache(group: "demo")
        #expect(cache.apply(Self.snapshot(5000, epoch: 100)) == .applied)
        #expect(cache.add(Self.tick(5001, epoch: 100)) == .accepted)
        #expect(cache.apply(Self.snapshot(0, epoch: 200)) == .newEpoch(previous: 100))
        #expect(!cache.needsSnapshot)
        #expect(cache.replay?.snapshot.seq == 0 && cache.replay?.batches.isEmpty == true)
        #expect(cache.add(Self.tick(1, epoch: 200)) == .accepted)
        #expect(cache.replay?.batches.map(\.seq) == [1])
    }

    @Test("merged batches extend the run; the fold of the kept batches carries the epoch")
    func mergedAndFolded() throws {
        var cache = GroupCache(group: "demo")
        #expect(cache.apply(Self.snapshot(10, epoch: 7)) == .applied)
        #expect(cache.add(Self.tick(14, epoch: 7, firstSeq: 11)) == .accepted)
        #expect(cache.add(Self.tick(16, epoch: 7, firstSeq: 13)) == .accepted)
        let folded = try #require(cache.folded())
        #expect(folded.seq == 16 && folded.epoch == 7)
        #expect(folded.ticks.map(\.last) == [16])
    }
}

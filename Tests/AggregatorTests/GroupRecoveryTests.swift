import Aggregator
import Logging
import NATS
import NATSTestSupport
import NIOCore
import SwiftProtobuf
import Testing
import XYContracts

/// `GroupRecovery` on `XY_TICKS` contents written by hand into the real JetStream: the epoch a
/// restarted aggregator continues, and when it must start a new one.
@Suite(.serialized) struct GroupRecoveryTests {
    static func tick(_ symbol: String, last: Double) -> Xy_Md_V1_SymbolTick {
        var tick = Xy_Md_V1_SymbolTick()
        tick.symbol = symbol
        tick.last = last
        tick.bid = last - 0.01
        tick.ask = last + 0.01
        tick.eventTimeNs = 1_764_806_400_000_000_000 + Int64(last * 1000)
        return tick
    }

    static func batch(_ seq: UInt64, epoch: UInt64, last: Double) -> Xy_Md_V1_TickBatch {
        var batch = Xy_Md_V1_TickBatch()
        batch.group = "demo"
        batch.seq = seq
        batch.epoch = epoch
        batch.ticks = [tick("AAPL", last: last)]
        return batch
    }

    static func snapshot(_ seq: UInt64, epoch: UInt64, last: Double) -> Xy_Md_V1_Snapshot {
        var snapshot = Xy_Md_V1_Snapshot()
        snapshot.group = "demo"
        snapshot.seq = seq
        snapshot.epoch = epoch
        snapshot.ticks = [tick("AAPL", last: last), tick("MSFT", last: 300)]
        return snapshot
    }

    /// A fresh JetStream with `XY_TICKS` holding `messages` in order; runs `body`, then stops.
    static func withStream(_ messages: [(String, any SwiftProtobuf.Message)], _ body: (JetStream) async throws -> Void) async throws {
        let server = try await NATSServer.start(.init(jetStream: true))
        let client = try await NATSClient.connect(url: server.url)
        do {
            let jetStream = client.jetStream()
            _ = try await jetStream.createOrUpdateStream(AggregatorStreams.ticksConfiguration(AggregatorIntegrationTests.configuration()))
            for (subject, message) in messages {
                _ = try await jetStream.publish(subject, payload: ByteBuffer(bytes: try message.serializedBytes() as [UInt8]))
            }
            try await body(jetStream)
        } catch {
            await client.close()
            await server.stop()
            throw error
        }
        await client.close()
        await server.stop()
    }

    static let logger = Logger(label: "group-recovery-test")

    @Test func aSnapshotAndTheBatchesAfterItContinueTheirEpoch() async throws {
        try await Self.withStream([
            ("xy.md.tick.demo", Self.batch(9, epoch: 100, last: 9)),
            ("xy.md.snapshot.demo", Self.snapshot(9, epoch: 100, last: 9)),
            ("xy.md.tick.demo", Self.batch(10, epoch: 100, last: 10)),
            ("xy.md.tick.demo", Self.batch(11, epoch: 100, last: 11)),
        ]) { jetStream in
            let recovered = try await GroupRecovery.recover(group: "demo", jetStream: jetStream, logger: Self.logger)
            #expect(recovered.epoch == 100 && recovered.lastSeq == 11 && recovered.snapshotSeq == 9 && recovered.batchesReplayed == 2)
            #expect(recovered.state["AAPL"]?.tick.last == 11 && recovered.state["MSFT"]?.tick.last == 300)
        }
    }

    @Test func aRunThatDiedBeforeItsFirstSnapshotIsRebuiltFromItsBatches() async throws {
        // An earlier run's batches are still stored, its snapshot is not; the last run (epoch 200)
        // started from nothing and published three batches before it stopped.
        try await Self.withStream([
            ("xy.md.tick.demo", Self.batch(41, epoch: 100, last: 41)),
            ("xy.md.tick.demo", Self.batch(1, epoch: 200, last: 1)),
            ("xy.md.tick.demo", Self.batch(2, epoch: 200, last: 2)),
            ("xy.md.tick.demo", Self.batch(3, epoch: 200, last: 3)),
        ]) { jetStream in
            let recovered = try await GroupRecovery.recover(group: "demo", jetStream: jetStream, logger: Self.logger)
            #expect(recovered.epoch == 200 && recovered.lastSeq == 3 && recovered.snapshotSeq == nil && recovered.batchesReplayed == 3)
            #expect(recovered.state["AAPL"]?.tick.last == 3)
        }
    }

    @Test func aSnapshotOfAnotherRunThanTheLastBatchStartsANewEpoch() async throws {
        try await Self.withStream([
            ("xy.md.tick.demo", Self.batch(1, epoch: 200, last: 1)),
            ("xy.md.snapshot.demo", Self.snapshot(70, epoch: 100, last: 70)),
            ("xy.md.tick.demo", Self.batch(2, epoch: 200, last: 2)),
        ]) { jetStream in
            let recovered = try await GroupRecovery.recover(group: "demo", jetStream: jetStream, logger: Self.logger)
            #expect(recovered.epoch == nil, "neither run's state can be trusted: a new epoch")
            #expect(recovered.lastSeq == 2, "numbering goes on after the last batch")
            #expect(recovered.state.symbols.isEmpty)
        }
    }

    @Test func anEmptyStreamHasNothingToContinue() async throws {
        try await Self.withStream([]) { jetStream in
            let recovered = try await GroupRecovery.recover(group: "demo", jetStream: jetStream, logger: Self.logger)
            #expect(recovered.epoch == nil && recovered.lastSeq == 0 && recovered.snapshotSeq == nil)
        }
    }
}

import Logging
import MarketData
import NATS
import XYContracts
import XYService

/// What a group resumes from after a restart: the state rebuilt from its last snapshot in
/// `XY_TICKS` and the batches stored after it, and the seq of the last batch.
public struct RecoveredGroup: Sendable {
    public var state: MarketState
    /// The seq of the last batch in the stream (0 for a group that never published one).
    public var lastSeq: UInt64
    /// The seq of the snapshot the state started from (nil: none found).
    public var snapshotSeq: UInt64?
    /// Batches applied on top of the snapshot.
    public var batchesReplayed: Int
    /// The bars the previous instance held for the group's symbols (its last checkpoint in
    /// `XY_BAR_STATE`), open ones whose minute has ended already replaced by the version
    /// `XY_BARS` stored when that one holds more trades.
    public var bars: [Xy_Md_V1_Bar] = []
}

/// Reads a group's last snapshot and the batches after it back from `XY_TICKS`, and the bars it
/// held from `XY_BAR_STATE`.
public enum GroupRecovery {
    public static func recover(
        group: String, jetStream: JetStream, logger: Logger, nowNs: Int64 = wallClockNanoseconds()
    ) async throws -> RecoveredGroup {
        let tickSubject = try Subjects.tick(group: group)
        let snapshotSubject = try Subjects.snapshot(group: group)
        let lastBatchMessage = try await lastMessage(jetStream, stream: AggregatorStreams.ticks, subject: tickSubject)
        let snapshotMessage = try await lastMessage(jetStream, stream: AggregatorStreams.ticks, subject: snapshotSubject)

        var state = MarketState()
        var seq: UInt64 = 0
        var startSequence: UInt64 = 1
        var snapshotSeq: UInt64?
        if let snapshotMessage {
            let snapshot = try Xy_Md_V1_Snapshot(payload: snapshotMessage.payload)
            state = try MarketState(snapshot: snapshot)
            seq = snapshot.seq
            snapshotSeq = snapshot.seq
            startSequence = snapshotMessage.sequence + 1
        }
        var replayed = 0
        if let lastBatchMessage {
            let lastBatch = try Xy_Md_V1_TickBatch(payload: lastBatchMessage.payload)
            if lastBatchMessage.sequence >= startSequence, lastBatch.seq > seq {
                let consumer = try await jetStream.orderedConsumer(
                    stream: AggregatorStreams.ticks,
                    OrderedConsumerConfiguration(filterSubject: tickSubject, deliverPolicy: .byStartSequence(startSequence))
                )
                defer { consumer.stop() }
                for try await message in consumer {
                    let batch = try Xy_Md_V1_TickBatch(payload: message.payload)
                    if batch.seq > seq {
                        if seq != 0, batch.seq != seq + 1 {
                            logger.warning("batches missing from XY_TICKS while rebuilding", metadata: [
                                "group": "\(group)", "after_seq": "\(seq)", "next_seq": "\(batch.seq)",
                            ])
                        }
                        try state.apply(batch)
                        seq = batch.seq
                        replayed += 1
                    }
                    if message.metadata.streamSequence >= lastBatchMessage.sequence { break }
                }
            }
            seq = max(seq, lastBatch.seq)
        }
        var recovered = RecoveredGroup(state: state, lastSeq: seq, snapshotSeq: snapshotSeq, batchesReplayed: replayed)
        recovered.bars = try await heldBars(group: group, jetStream: jetStream, nowNs: nowNs)
        return recovered
    }

    /// The bars of the group's last checkpoint. An open bar whose minute is over was sealed
    /// and stored by the previous instance if it lived long enough, possibly with trades the
    /// checkpoint (taken up to a second earlier) misses: the stored bar of that minute wins when it
    /// holds more trades, so a restart never stores a bar with fewer.
    static func heldBars(group: String, jetStream: JetStream, nowNs: Int64) async throws -> [Xy_Md_V1_Bar] {
        guard let message = try await lastMessage(jetStream, stream: AggregatorStreams.barState, subject: try Subjects.barState(group: group)) else {
            return []
        }
        var bars = try Xy_Md_V1_BarCheckpoint(payload: message.payload).bars
        for index in bars.indices where !bars[index].sealed && bars[index].endTimeNs <= nowNs {
            let subject = try Subjects.bar(symbol: bars[index].symbol)
            guard let stored = try await lastMessage(jetStream, stream: AggregatorStreams.bars, subject: subject),
                  let bar = try? Xy_Md_V1_Bar(payload: stored.payload),
                  bar.startTimeNs == bars[index].startTimeNs, bar.tradeCount >= bars[index].tradeCount
            else { continue }
            bars[index] = bar
        }
        return bars
    }

    /// The newest message on `subject`, nil when the stream holds none.
    static func lastMessage(_ jetStream: JetStream, stream: String, subject: String) async throws -> JetStreamStoredMessage? {
        do {
            return try await jetStream.getLastMessage(stream: stream, subject: subject)
        } catch let error as JetStreamError where error.errorCode == .noMessageFound || error.status == 404 {
            return nil
        }
    }
}

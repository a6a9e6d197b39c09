import Logging
import MarketData
import NATS
import XYContracts

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
}

/// Reads a group's last snapshot and the batches after it back from `XY_TICKS`.
public enum GroupRecovery {
    public static func recover(group: String, jetStream: JetStream, logger: Logger) async throws -> RecoveredGroup {
        let tickSubject = try Subjects.tick(group: group)
        let snapshotSubject = try Subjects.snapshot(group: group)
        let lastBatchMessage = try await lastMessage(jetStream, subject: tickSubject)
        let snapshotMessage = try await lastMessage(jetStream, subject: snapshotSubject)

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
        return RecoveredGroup(state: state, lastSeq: seq, snapshotSeq: snapshotSeq, batchesReplayed: replayed)
    }

    /// The newest message on `subject`, nil when the stream holds none.
    static func lastMessage(_ jetStream: JetStream, subject: String) async throws -> JetStreamStoredMessage? {
        do {
            return try await jetStream.getLastMessage(stream: AggregatorStreams.ticks, subject: subject)
        } catch let error as JetStreamError where error.errorCode == .noMessageFound || error.status == 404 {
            return nil
        }
    }
}

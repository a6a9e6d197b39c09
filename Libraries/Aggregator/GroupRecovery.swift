import Logging
import MarketData
import NATS
import XYContracts
import XYCore

/// What a group resumes from after a restart: the state rebuilt from its last snapshot in
/// `XY_TICKS` and the batches stored after it, the seq of the last batch, and the epoch (the
/// producer run) those seqs belong to.
public struct RecoveredGroup: Sendable {
    public var state: MarketState
    /// The seq of the last batch in the stream (0 for a group that never published one).
    public var lastSeq: UInt64
    /// The epoch to continue: that of the last batch (or, with none, of the last snapshot). Nil
    /// when the stream had nothing to continue from: the group starts a new epoch.
    public var epoch: UInt64?
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
/// held from `XY_BAR_STATE`. Which batch follows which is MarketData's `SequenceTracker`'s call.
public enum GroupRecovery {
    public static func recover(
        group: String, jetStream: JetStream, logger: Logger, nowNs: Int64 = wallClockNanoseconds()
    ) async throws -> RecoveredGroup {
        let tickSubject = try Subjects.tick(group: group)
        let snapshotSubject = try Subjects.snapshot(group: group)
        let lastBatchMessage = try await lastMessage(jetStream, stream: AggregatorStreams.ticks, subject: tickSubject)
        let snapshotMessage = try await lastMessage(jetStream, stream: AggregatorStreams.ticks, subject: snapshotSubject)
        let lastBatch = try lastBatchMessage.map { try Xy_Md_V1_TickBatch(payload: $0.payload) }

        var state = MarketState()
        var tracker = SequenceTracker()
        var startSequence: UInt64 = 1
        var snapshotSeq: UInt64?
        if let snapshotMessage {
            let snapshot = try Xy_Md_V1_Snapshot(payload: snapshotMessage.payload)
            if let lastBatch, lastBatch.epoch != snapshot.epoch {
                // Another run than the last batch's (two instances at once, or one that died before
                // its first snapshot after a run that shared the stream): neither state can be
                // trusted. Start a new epoch from nothing, numbering on after the last batch.
                logger.warning("the last snapshot and the last batch in XY_TICKS are of different epochs; starting a new epoch", metadata: [
                    "group": "\(group)", "snapshot_epoch": "\(snapshot.epoch)", "batch_epoch": "\(lastBatch.epoch)",
                ])
                var recovered = RecoveredGroup(state: MarketState(), lastSeq: lastBatch.seq, epoch: nil, snapshotSeq: nil, batchesReplayed: 0)
                recovered.bars = try await heldBars(group: group, jetStream: jetStream, nowNs: nowNs)
                return recovered
            }
            state = try MarketState(snapshot: snapshot)
            _ = tracker.snapshot(epoch: snapshot.epoch, seq: snapshot.seq)
            snapshotSeq = snapshot.seq
            startSequence = snapshotMessage.sequence + 1
        }
        var replayed = 0
        if let lastBatchMessage, let lastBatch {
            var probe = tracker
            if lastBatchMessage.sequence >= startSequence, probe.batch(epoch: lastBatch.epoch, seq: lastBatch.seq, firstSeq: lastBatch.firstSeq) != .duplicate {
                let consumer = try await jetStream.orderedConsumer(
                    stream: AggregatorStreams.ticks,
                    OrderedConsumerConfiguration(filterSubject: tickSubject, deliverPolicy: .byStartSequence(startSequence))
                )
                defer { consumer.stop() }
                for try await message in consumer {
                    let batch = try Xy_Md_V1_TickBatch(payload: message.payload)
                    switch tracker.batch(epoch: batch.epoch, seq: batch.seq, firstSeq: batch.firstSeq) {
                    case .accepted:
                        try state.apply(batch)
                        replayed += 1
                    case .duplicate:
                        break
                    case .gap(let missing):
                        logger.warning("batches missing from XY_TICKS while rebuilding", metadata: [
                            "group": "\(group)", "after_seq": "\(missing.lowerBound - 1)", "next_seq": "\(batch.seq)",
                        ])
                        try state.apply(batch)
                        replayed += 1
                    case .newEpoch(let previous):
                        // No snapshot of this run yet (it started on a stream that still held an
                        // earlier run's batches): its state is its batches from here on.
                        logger.info("a newer epoch in XY_TICKS; rebuilding from its batches", metadata: [
                            "group": "\(group)", "previous_epoch": "\(previous)", "epoch": "\(batch.epoch)", "seq": "\(batch.seq)",
                        ])
                        state = MarketState()
                        snapshotSeq = nil
                        try state.apply(batch)
                        replayed = 1
                    }
                    if message.metadata.streamSequence >= lastBatchMessage.sequence { break }
                }
            }
        }
        var lastSeq = tracker.epoch == nil ? 0 : tracker.lastSeq
        if let lastBatch, tracker.epoch == lastBatch.epoch { lastSeq = max(lastSeq, lastBatch.seq) }
        var recovered = RecoveredGroup(state: state, lastSeq: lastSeq, epoch: tracker.epoch, snapshotSeq: snapshotSeq, batchesReplayed: replayed)
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

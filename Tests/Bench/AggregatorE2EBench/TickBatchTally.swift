import MarketData

/// What the end-to-end aggregator benchmark learns from the `TickBatch`es of one group: seq
/// contiguity, the intervals between batches (by the aggregator's publish time and by arrival), and
/// how many events the batches account for.
///
/// The benchmark's publisher numbers each symbol's events 1, 2, 3… in `vendor_sequence`, so the
/// newest sequence a tick carries (trade, quote or aggregate) is the number of that symbol's events
/// folded so far, and the sum over symbols is the number of events that made it out in batches.
struct TickBatchTally {
    var batches = 0
    /// The sequence rules (MarketData's one implementation) over the batches seen.
    var sequence = SequenceTracker()
    /// Seqs skipped (a batch never seen) and batches whose seq was not above the last.
    var missingSeqs: UInt64 = 0
    var repeatedSeqs = 0
    /// Batches of a different epoch than the one before (the aggregator started over mid-run).
    var epochChanges = 0
    /// Events accounted for by the batches so far (Σ newest vendor sequence per symbol).
    var folded: UInt64 = 0
    private var newest: [UInt64]
    private var lastPublishNs: Int64 = 0
    private var lastReceiveNs: UInt64 = 0

    /// Whether batches are being measured, and what the window started from.
    var measuring = false
    var windowStartNs: UInt64 = 0
    var windowStartFolded: UInt64 = 0
    var windowEndNs: UInt64 = 0
    var windowEndFolded: UInt64 = 0
    var windowBatches = 0
    var windowSymbols = 0
    var windowBytes = 0
    /// Gaps between consecutive batches in the window, nanoseconds.
    var publishIntervals: [Int64] = []
    var receiveIntervals: [Int64] = []

    init(symbols: Int) {
        newest = [UInt64](repeating: 0, count: symbols)
    }

    /// Folds in one batch received at `receiveNs` (monotonic); `symbolIndex` maps a tick's symbol
    /// bytes to the publisher's index (nil: not one of ours).
    mutating func record(
        _ payload: UnsafeRawBufferPointer, receiveNs: UInt64, symbolIndex: (UnsafeRawBufferPointer) -> Int?
    ) {
        var reader = ProtobufWireReader(payload, 0..<payload.count)
        var seq: UInt64 = 0
        var epoch: UInt64 = 0
        var publishNs: Int64 = 0
        var symbols = 0
        fields: while !reader.atEnd {
            guard let (field, type) = reader.key() else { break }
            switch (field, type) {
            case (2, 0): seq = reader.varint() ?? 0
            case (4, 0): publishNs = Int64(bitPattern: reader.varint() ?? 0)
            case (6, 0): epoch = reader.varint() ?? 0
            case (5, 2):
                guard let range = reader.lengthDelimited() else { break fields }
                symbols += 1
                fold(tick: ProtobufWireReader(payload, range), symbolIndex: symbolIndex)
            default:
                guard reader.skip(type) else { break fields }
            }
        }
        batches += 1
        switch sequence.batch(epoch: epoch, seq: seq) {
        case .accepted: break
        case .duplicate: repeatedSeqs += 1
        case .gap(let missing): missingSeqs += missing.upperBound - missing.lowerBound + 1
        case .newEpoch: epochChanges += 1
        }
        if measuring {
            windowBatches += 1
            windowSymbols += symbols
            windowBytes += payload.count
            if lastPublishNs != 0 { publishIntervals.append(publishNs - lastPublishNs) }
            if lastReceiveNs != 0 { receiveIntervals.append(Int64(receiveNs &- lastReceiveNs)) }
            windowEndNs = receiveNs
            windowEndFolded = folded
        }
        lastPublishNs = publishNs
        lastReceiveNs = receiveNs
    }

    /// Starts the measured window at the batch just recorded.
    mutating func startWindow(atNs now: UInt64) {
        measuring = true
        windowStartNs = now
        windowStartFolded = folded
        windowEndNs = now
        windowEndFolded = folded
    }

    private mutating func fold(tick: ProtobufWireReader, symbolIndex: (UnsafeRawBufferPointer) -> Int?) {
        var reader = tick
        var index: Int?
        var sequence: UInt64 = 0
        fields: while !reader.atEnd {
            guard let (field, type) = reader.key() else { break }
            switch (field, type) {
            case (1, 2):
                guard let range = reader.lengthDelimited() else { break fields }
                index = symbolIndex(UnsafeRawBufferPointer(rebasing: reader.bytes[range]))
            case (17, 0), (19, 0), (21, 0):
                sequence = max(sequence, reader.varint() ?? 0)
            default:
                guard reader.skip(type) else { break fields }
            }
        }
        guard let index, index < newest.count, sequence > newest[index] else { return }
        folded += sequence - newest[index]
        newest[index] = sequence
    }
}

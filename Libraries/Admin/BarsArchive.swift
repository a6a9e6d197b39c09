import NATS
import NIOCore
import SwiftProtobuf
import XYContracts
import XYCore

/// One 1-minute bar as the bars operation handles it, whichever subject it came from.
struct MinuteBar: Sendable, Hashable {
    var startMilliseconds: Int64
    var open: Double
    var high: Double
    var low: Double
    var close: Double
    var volume: Double
    var vwap: Double
    var trades: Int64
}

/// xy-admin's view of `XY_BARS`: the aggregator's live bars, and the vendor's history that
/// backfills store next to them.
///
/// Layout (all inside the stream's `xy.md.bar.>`):
/// - `xy.md.bar.<TICKER>`: the aggregator's sealed and amended bars (a later message for the
///   same minute amends it). Live subscribers (the gateway, `xy.md.bar.*`) see these.
/// - `xy.md.bar.<TICKER>.history.<YYYYMMDD>`: bars fetched from the vendor for that UTC day,
///   then a marker (empty payload, header `Xy-History-Covered-To: <ms>`) saying the day is held
///   from its midnight up to that time. Five tokens, so no live subscriber's `xy.md.bar.*` or
///   `xy.md.bar.<TICKER>` matches them: history never reaches a chart as if it were live, and a
///   day is read alone (at most 1,440 bars) instead of every backfill of the ticker.
///
/// Each stored history bar carries `Nats-Msg-Id: <TICKER>-history-<start ms>` and each marker
/// `<TICKER>-history-<YYYYMMDD>-<covered-to ms>`, so two copies backfilling the same day at once
/// store it once (within the stream's de-duplication window; after it, the marker already says
/// the day is held and nobody fetches it again).
struct BarsArchive: Sendable {
    static let stream = "XY_BARS"
    static let coveredToHeader = "Xy-History-Covered-To"
    static let sourceHeader = "Xy-Source"
    /// A read that takes longer than this is abandoned (503), so a stuck consumer never holds a request.
    static let readTimeout: Duration = .seconds(5)

    let jetStream: JetStream

    static func liveSubject(_ ticker: String) -> String { "xy.md.bar.\(ticker)" }

    static func historySubject(_ ticker: String, dayStartMilliseconds: Int64) -> String {
        "xy.md.bar.\(ticker).history.\(UTCTime.dayToken(milliseconds: dayStartMilliseconds))"
    }

    /// The start of the ticker's oldest live bar still in the stream, nil when it has none.
    func firstLiveStart(_ ticker: String) async throws -> Int64? {
        var first: Int64?
        try await read(OrderedConsumerConfiguration(filterSubject: Self.liveSubject(ticker), deliverPolicy: .all)) { message in
            if let bar = Self.decode(message.payload) { first = bar.startMilliseconds }
            return false
        }
        return first
    }

    /// The live bars starting in [from, to), the newest version of each minute. A live bar is
    /// stored after its minute ends, so delivery starts at the store time `from`; the aggregator
    /// stores bars in minute order (an amendment follows within seconds), so reading stops at
    /// the first bar ``readPastEnd`` beyond `to` instead of running to the end of the subject.
    func liveBars(_ ticker: String, from: Int64, to: Int64) async throws -> [Int64: MinuteBar] {
        var bars: [Int64: MinuteBar] = [:]
        let configuration = OrderedConsumerConfiguration(
            filterSubject: Self.liveSubject(ticker), deliverPolicy: .byStartTime(nanoseconds: from * 1_000_000))
        try await read(configuration) { message in
            guard let bar = Self.decode(message.payload) else { return true }
            if bar.startMilliseconds >= from, bar.startMilliseconds < to {
                bars[bar.startMilliseconds] = bar
            }
            return bar.startMilliseconds < to + Self.readPastEnd
        }
        return bars
    }

    /// Every live bar from `deliverPolicy` on, with its stream sequence (``LiveBarCache``'s reads).
    func liveMessages(_ ticker: String, deliverPolicy: ConsumerConfiguration.DeliverPolicy) async throws -> [(UInt64, MinuteBar)] {
        var messages: [(UInt64, MinuteBar)] = []
        try await read(OrderedConsumerConfiguration(filterSubject: Self.liveSubject(ticker), deliverPolicy: deliverPolicy)) { message in
            if let bar = Self.decode(message.payload) { messages.append((message.metadata.streamSequence, bar)) }
            return true
        }
        return messages
    }

    /// The stream sequence of the ticker's newest live bar (one direct get), nil when it has none.
    func lastLiveSequence(_ ticker: String) async throws -> UInt64? {
        do {
            return try await jetStream.getLastMessage(stream: Self.stream, subject: Self.liveSubject(ticker)).sequence
        } catch let error as JetStreamError where error.errorCode == .noMessageFound {
            return nil
        }
    }

    /// How far past a page's end the live read goes, for amendments stored after a later bar.
    static let readPastEnd: Int64 = 2 * BarsQuery.minuteMilliseconds

    /// One day's stored history: its bars and how far the day is held (nil: never backfilled).
    func history(_ ticker: String, dayStartMilliseconds: Int64) async throws -> (bars: [Int64: MinuteBar], coveredTo: Int64?) {
        var bars: [Int64: MinuteBar] = [:]
        var coveredTo: Int64?
        let subject = Self.historySubject(ticker, dayStartMilliseconds: dayStartMilliseconds)
        try await read(OrderedConsumerConfiguration(filterSubject: subject, deliverPolicy: .all)) { message in
            if let covered = message.headers?[Self.coveredToHeader].flatMap({ Int64($0) }) {
                coveredTo = max(coveredTo ?? covered, covered)
            } else if let bar = Self.decode(message.payload) {
                bars[bar.startMilliseconds] = bar
            }
            return true
        }
        return (bars, coveredTo)
    }

    /// How far a day is held, from its last message (the marker a backfill writes last); one
    /// direct get, nil when the day was never backfilled.
    func coveredTo(_ ticker: String, dayStartMilliseconds: Int64) async throws -> Int64? {
        let subject = Self.historySubject(ticker, dayStartMilliseconds: dayStartMilliseconds)
        do {
            let last = try await jetStream.getLastMessage(stream: Self.stream, subject: subject)
            return last.headers?[Self.coveredToHeader].flatMap { Int64($0) }
        } catch let error as JetStreamError where error.errorCode == .noMessageFound {
            return nil
        }
    }

    /// Stores vendor bars of one day (all acknowledged), then the marker that the day is held up
    /// to `coveredTo`.
    func storeHistory(_ ticker: String, dayStartMilliseconds: Int64, bars: [MinuteBar], coveredTo: Int64) async throws {
        let subject = Self.historySubject(ticker, dayStartMilliseconds: dayStartMilliseconds)
        let headers: NATSHeaders = [Subjects.schemaHeader: Xy_Md_V1_Bar.protoMessageName, Self.sourceHeader: "vendor"]
        var pending: [JetStreamPendingAck] = []
        for bar in bars {
            var message = Xy_Md_V1_Bar()
            message.symbol = ticker
            message.interval = .oneMinute
            message.startTimeNs = bar.startMilliseconds * 1_000_000
            message.endTimeNs = (bar.startMilliseconds + BarsQuery.minuteMilliseconds) * 1_000_000
            message.open = bar.open
            message.high = bar.high
            message.low = bar.low
            message.close = bar.close
            message.volume = bar.volume
            message.vwap = bar.vwap
            message.tradeCount = UInt64(max(0, bar.trades))
            message.sealed = true
            let payload = ByteBuffer(bytes: try message.serializedBytes() as [UInt8])
            pending.append(jetStream.publishAsync(
                subject, payload: payload, headers: headers, options: .init(messageID: "\(ticker)-history-\(bar.startMilliseconds)")))
        }
        for ack in pending { _ = try await ack.get() }
        let day = UTCTime.dayToken(milliseconds: dayStartMilliseconds)
        _ = try await jetStream.publish(
            subject, payload: ByteBuffer(), headers: [Self.coveredToHeader: String(coveredTo), Self.sourceHeader: "vendor"],
            options: .init(messageID: "\(ticker)-history-\(day)-\(coveredTo)"))
    }

    /// A stored bar; nil for a payload that is not one (a marker, or a message from a stranger).
    static func decode(_ payload: ByteBuffer) -> MinuteBar? {
        guard payload.readableBytes > 0, let bar = try? Xy_Md_V1_Bar(serializedBytes: Array(payload.readableBytesView)) else { return nil }
        return MinuteBar(
            startMilliseconds: bar.startTimeNs / 1_000_000, open: bar.open, high: bar.high, low: bar.low, close: bar.close,
            volume: bar.volume, vwap: bar.vwap, trades: Int64(clamping: bar.tradeCount))
    }

    /// Reads the messages an ordered consumer delivers until there are none left, `visit` says
    /// stop, or ``readTimeout`` passes (then it throws).
    private func read(_ configuration: OrderedConsumerConfiguration, _ visit: (JetStreamMessage) throws -> Bool) async throws {
        let consumer = try await jetStream.orderedConsumer(stream: Self.stream, configuration)
        defer { consumer.stop() }
        guard consumer.initialPending > 0 else { return }
        let deadline = jetStream.client.eventLoop.scheduleTask(in: .seconds(Int64(Self.readTimeout.components.seconds))) {
            consumer.stop()
        }
        defer { deadline.cancel() }
        for try await message in consumer {
            guard try visit(message), message.metadata.pending > 0 else { return }
        }
        throw JetStreamError(.closed, "reading \(Self.stream) took longer than \(Self.readTimeout)")
    }
}

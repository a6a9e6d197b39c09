import Logging
import NATS
import NIOCore
import XYContracts
import XYCore

/// The hot path: one vendor frame in, one NATS message per event out on `xy.md.event.<SYMBOL>`,
/// with malformed and unknown elements counted, logged (throttled, with their code) and skipped.
///
/// A value owned by the task that reads the connection, so its caches need no lock; counters go
/// to the shared metrics once per frame.
public struct MarketEventPublisher {
    /// A vendor `status` element, handed back to the connection's state machine.
    public struct Status: Sendable, Hashable {
        public var status: String
        public var message: String
    }

    /// Per-frame tallies (also what tests read).
    public struct Tally: Sendable, Hashable {
        public var trades = 0
        public var quotes = 0
        public var secondAggregates = 0
        public var minuteAggregates = 0
        public var statuses = 0
        public var malformedSyntax = 0
        public var malformedEvent = 0
        public var unknownEvent = 0
        public var invalidSymbol = 0
        public var published = 0
        public var publishFailed = 0
    }

    private let client: NATSClient
    private let metrics: UpstreamMetrics
    private var logger: Logger
    private var encoder: MarketEventWireEncoder
    private var payload = ByteBufferAllocator().buffer(capacity: 256)
    private var subjects: [String: NATSPublishSubject] = [:]
    private var malformedLog = LogThrottle()
    private var publishLog = LogThrottle()
    public private(set) var total = Tally()

    public init(client: NATSClient, source: String, metrics: UpstreamMetrics, logger: Logger) {
        self.client = client
        self.metrics = metrics
        self.logger = logger
        self.encoder = MarketEventWireEncoder(source: source)
    }

    /// Publishes every event of one frame; returns the status elements in order.
    public mutating func process(frame: ByteBuffer, receiveTimeNanoseconds: Int64) -> [Status] {
        var statuses: [Status] = []
        var tally = Tally()
        var eventTimes: [Int64] = []
        frame.withUnsafeReadableBytes { bytes in
            PolygonFrameDecoder.decode(bytes, events: { event in
                switch event.kind {
                case .trade: tally.trades += 1
                case .quote: tally.quotes += 1
                case .secondAggregate: tally.secondAggregates += 1
                case .minuteAggregate: tally.minuteAggregates += 1
                }
                publish(event, receiveTimeNanoseconds: receiveTimeNanoseconds, tally: &tally)
                // A time beyond what nanoseconds can hold (a feed sending ns, say) is not timed.
                if event.timeMilliseconds > 0, event.timeMilliseconds <= Int64.max / 1_000_000 {
                    eventTimes.append(event.timeMilliseconds)
                }
            }, other: { item in
                switch item {
                case .event:
                    break  // events come through `events`
                case .status(let status, let message):
                    tally.statuses += 1
                    statuses.append(Status(status: status, message: message))
                case .malformed(let reason):
                    switch reason {
                    case .syntax: tally.malformedSyntax += 1
                    case .invalidEvent: tally.malformedEvent += 1
                    }
                    reportMalformed(reason.rawValue, frame: frame)
                case .unknown(let ev):
                    tally.unknownEvent += 1
                    reportMalformed("unknown ev '\(ev.prefix(16))'", frame: frame)
                }
            })
        }
        record(tally)
        if !eventTimes.isEmpty {
            let now = wallClockNanoseconds()
            metrics.ingestLatency.record(nanoseconds: eventTimes.map { now - $0 * 1_000_000 })
        }
        return statuses
    }

    private mutating func publish(_ event: VendorEvent, receiveTimeNanoseconds: Int64, tally: inout Tally) {
        let subject: NATSPublishSubject
        if let cached = subjects[event.symbol] {
            subject = cached
        } else {
            do {
                subject = try NATSPublishSubject(Subjects.event(symbol: event.symbol))
            } catch {
                tally.invalidSymbol += 1
                reportMalformed("symbol is not a subject token", frame: nil)
                return
            }
            if subjects.count > 100_000 { subjects.removeAll() }
            subjects[event.symbol] = subject
        }
        encoder.encode(event, receiveTimeNanoseconds: receiveTimeNanoseconds, into: &payload)
        do {
            try client.publish(subject, payload: payload)
            tally.published += 1
        } catch {
            tally.publishFailed += 1
            let (log, suppressed) = publishLog.shouldLog()
            if log {
                logger.warning("publish to NATS failed; event dropped", metadata: ["code": "\(XYErrorCode.natsUnavailable)", "error": "\(error)", "suppressed": "\(suppressed)"])
            }
        }
    }

    private mutating func reportMalformed(_ reason: String, frame: ByteBuffer?) {
        let (log, suppressed) = malformedLog.shouldLog()
        guard log else { return }
        var metadata: Logger.Metadata = ["code": "\(XYErrorCode.upstreamMalformed)", "reason": "\(reason)", "suppressed": "\(suppressed)"]
        if let frame {
            metadata["frame_prefix"] = "\(String(buffer: frame.getSlice(at: frame.readerIndex, length: min(120, frame.readableBytes)) ?? ByteBuffer()))"
        }
        logger.warning("skipped a malformed vendor event", metadata: metadata)
    }

    private mutating func record(_ tally: Tally) {
        if tally.trades > 0 { metrics.trades.increment(by: tally.trades) }
        if tally.quotes > 0 { metrics.quotes.increment(by: tally.quotes) }
        if tally.secondAggregates > 0 { metrics.secondAggregates.increment(by: tally.secondAggregates) }
        if tally.minuteAggregates > 0 { metrics.minuteAggregates.increment(by: tally.minuteAggregates) }
        if tally.statuses > 0 { metrics.statuses.increment(by: tally.statuses) }
        if tally.malformedSyntax > 0 { metrics.malformedSyntax.increment(by: tally.malformedSyntax) }
        if tally.malformedEvent > 0 { metrics.malformedEvent.increment(by: tally.malformedEvent) }
        if tally.unknownEvent > 0 { metrics.unknownEvent.increment(by: tally.unknownEvent) }
        if tally.invalidSymbol > 0 { metrics.invalidSymbol.increment(by: tally.invalidSymbol) }
        if tally.published > 0 { metrics.published.increment(by: tally.published) }
        if tally.publishFailed > 0 { metrics.publishFailed.increment(by: tally.publishFailed) }
        total.trades += tally.trades
        total.quotes += tally.quotes
        total.published += tally.published
        total.malformedSyntax += tally.malformedSyntax
        total.malformedEvent += tally.malformedEvent
        total.unknownEvent += tally.unknownEvent
    }
}

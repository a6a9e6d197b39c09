/// Why an event was refused before it touched any state: the `reason` label of the aggregator's
/// `xy_md_events_refused_total`. A vendor bug must never reach a client, nor poison a symbol.
public enum EventRefusal: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// Undecodable bytes, no symbol, another symbol's event on this subject, or no event kind.
    case malformed
    /// A price that is not a number in (0, ``EventValidation/maximumPrice``] (a quote side may be 0: empty).
    case price
    /// A size that is not a number in [0, ``EventValidation/maximumSize``].
    case size
    /// A quote whose bid is above its ask: a negative spread no book can have.
    case crossedQuote = "crossed_quote"
    /// An aggregate whose open or close lies outside its low–high range, or whose low is above its high.
    case aggregateRange = "aggregate_range"
    /// The day's volume would pass ``EventValidation/maximumVolume`` (a vendor's cumulative volume, or ours).
    case volume
    /// Stamped at or before the Unix epoch.
    case time
    /// Stamped further ahead of its receipt than the allowed clock skew: applied, it would make every
    /// later event of its kind look stale.
    case futureTime = "future_time"

    public var description: String { rawValue }
}

/// The rules an event's values must meet, as plain functions of plain values (no clock: the receive
/// time is passed in). The bounds are far beyond any listed instrument, yet low enough that no sum
/// the state or a bar keeps (volume, price × size) can stop being a finite number.
public struct EventValidation: Hashable, Sendable {
    /// The highest price taken (the dearest listed share trades under 10⁶).
    public static let maximumPrice: Double = 1e9
    /// The largest size taken for one trade or one quote side.
    public static let maximumSize: Double = 1e12
    /// The largest day volume of one symbol taken (a whole market trades some 10¹⁰ shares a day).
    public static let maximumVolume: Double = 1e15
    /// How far an event may be stamped ahead of its receipt, unless told otherwise.
    public static let defaultMaxFutureSkewNs: Int64 = 5_000_000_000

    /// How far an event may be stamped ahead of its receipt (clock skew between vendor and us).
    public var maxFutureSkewNs: Int64

    public init(maxFutureSkewNs: Int64 = EventValidation.defaultMaxFutureSkewNs) {
        self.maxFutureSkewNs = max(0, maxFutureSkewNs)
    }

    /// Why the event is refused, nil when it may be applied: its values (``valueRefusal(_:)``),
    /// then its time against `receivedAtNs` (wall clock, Unix ns).
    public func refusal(_ fields: MarketEventFields, receivedAtNs: Int64) -> EventRefusal? {
        if let refusal = Self.valueRefusal(fields) { return refusal }
        return timeRefusal(fields.eventTimeNs, receivedAtNs: receivedAtNs)
    }

    /// `future_time` when `eventTimeNs` is more than the allowed skew after `receivedAtNs`.
    public func timeRefusal(_ eventTimeNs: Int64, receivedAtNs: Int64) -> EventRefusal? {
        let (latest, overflow) = receivedAtNs.addingReportingOverflow(maxFutureSkewNs)
        return !overflow && eventTimeNs > latest ? .futureTime : nil
    }

    /// The checks that need no clock and no state: an event kind, a time after the epoch, and the
    /// values of its kind in range.
    public static func valueRefusal(_ fields: MarketEventFields) -> EventRefusal? {
        guard let kind = fields.kind else { return .malformed }
        guard fields.eventTimeNs > 0 else { return .time }
        switch kind {
        case .trade:
            guard isPrice(fields.price) else { return .price }
            guard isSize(fields.size) else { return .size }
        case .quote:
            guard isQuotePrice(fields.bidPrice), isQuotePrice(fields.askPrice) else { return .price }
            guard isSize(fields.bidSize), isSize(fields.askSize) else { return .size }
            guard fields.bidPrice == 0 || fields.askPrice == 0 || fields.bidPrice <= fields.askPrice else { return .crossedQuote }
        case .aggregate:
            guard isPrice(fields.open), isPrice(fields.high), isPrice(fields.low), isPrice(fields.close) else { return .price }
            guard fields.low <= fields.high, (fields.low...fields.high).contains(fields.open),
                  (fields.low...fields.high).contains(fields.close) else { return .aggregateRange }
            guard isVolume(fields.dayVolume) else { return .volume }
        }
        return nil
    }

    /// A price of a trade or an aggregate: a number in (0, maximumPrice].
    public static func isPrice(_ value: Double) -> Bool {
        value > 0 && value <= maximumPrice
    }

    /// A quote side's price: 0 (no order on that side) or a price.
    static func isQuotePrice(_ value: Double) -> Bool {
        value == 0 || isPrice(value)
    }

    /// A size: a number in [0, maximumSize] (NaN fails both comparisons).
    public static func isSize(_ value: Double) -> Bool {
        value >= 0 && value <= maximumSize
    }

    /// A day volume: a number in [0, maximumVolume].
    public static func isVolume(_ value: Double) -> Bool {
        value >= 0 && value <= maximumVolume
    }
}

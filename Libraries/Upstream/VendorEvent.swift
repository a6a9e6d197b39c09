/// One event of the vendor's stocks feed as decoded from its JSON (Polygon/Massive field names),
/// before normalization: plain values, so decoding allocates nothing beyond short strings.
public struct VendorEvent: Sendable, Hashable {
    /// The vendor's `ev`.
    public enum Kind: Sendable, Hashable {
        case trade
        case quote
        case secondAggregate
        case minuteAggregate

        /// The `ev` value, also the `ev` label of `xy_upstream_events_total`.
        public var wireName: String {
            switch self {
            case .trade: "T"
            case .quote: "Q"
            case .secondAggregate: "A"
            case .minuteAggregate: "AM"
            }
        }
    }

    public var kind: Kind
    public var symbol: String = ""
    /// `t` (trades, quotes) or `e` (aggregates), Unix milliseconds.
    public var timeMilliseconds: Int64 = 0
    /// `q`, 0 when absent.
    public var sequence: UInt64 = 0
    // Trade: x, i, z, p, s, c
    public var exchange: Int32 = 0
    public var tradeID: String = ""
    public var tape: Int32 = 0
    public var price: Double = 0
    public var size: Double = 0
    public var conditions: [Int32] = []
    // Quote: bx, bp, bs, ax, ap, as (c, z, t, q as above)
    public var bidExchange: Int32 = 0
    public var bidPrice: Double = 0
    public var bidSize: Double = 0
    public var askExchange: Int32 = 0
    public var askPrice: Double = 0
    public var askSize: Double = 0
    // Aggregate: v, av, op, vw, o, c, h, l, a, z, s, e
    public var volume: Double = 0
    public var dayVolume: Double = 0
    public var open: Double = 0
    public var high: Double = 0
    public var low: Double = 0
    public var close: Double = 0
    public var vwap: Double = 0
    public var startMilliseconds: Int64 = 0
    public var endMilliseconds: Int64 = 0

    public init(kind: Kind) {
        self.kind = kind
    }
}

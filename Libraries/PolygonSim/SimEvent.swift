/// The vendor channels the simulator produces, with their wire names.
public enum SimChannel: UInt8, Sendable, CaseIterable {
    case trade = 0
    case quote = 1
    case secondAggregate = 2
    case minuteAggregate = 3

    /// `T`, `Q`, `A`, `AM`: the `ev` value and the subscription prefix.
    public var wireName: String {
        switch self {
        case .trade: "T"
        case .quote: "Q"
        case .secondAggregate: "A"
        case .minuteAggregate: "AM"
        }
    }

    public init?(wireName: String) {
        switch wireName {
        case "T": self = .trade
        case "Q": self = .quote
        case "A": self = .secondAggregate
        case "AM": self = .minuteAggregate
        default: return nil
        }
    }

    var bit: UInt8 { 1 << rawValue }
}

/// One simulated vendor event. Prices are integer cents (VWAPs ten-thousandths) so the walk is
/// exact and a test can compare what arrives with what was generated; `timeMilliseconds` is the
/// wall clock when it was generated, the only field a seed does not fix.
public struct SimEvent: Sendable, Hashable {
    public var channel: SimChannel
    public var symbolIndex: Int
    public var symbol: String
    /// Per-symbol sequence (`q`), counting every event of the symbol from 1.
    public var sequence: UInt64
    public var timeMilliseconds: Int64

    // Trade
    public var priceCents: Int64 = 0
    public var size: Int64 = 0
    public var exchange: Int = 0
    public var tradeID: String = ""
    public var conditions: [Int] = []
    public var tape: Int = 0

    // Quote
    public var bidExchange: Int = 0
    public var bidCents: Int64 = 0
    public var bidSize: Int64 = 0
    public var askExchange: Int = 0
    public var askCents: Int64 = 0
    public var askSize: Int64 = 0

    // Aggregate (A / AM)
    public var volume: Int64 = 0
    public var dayVolume: Int64 = 0
    public var dayOpenCents: Int64 = 0
    public var vwapTenThousandths: Int64 = 0
    public var openCents: Int64 = 0
    public var closeCents: Int64 = 0
    public var highCents: Int64 = 0
    public var lowCents: Int64 = 0
    public var dayVWAPTenThousandths: Int64 = 0
    public var averageSize: Int64 = 0
    public var startMilliseconds: Int64 = 0
    public var endMilliseconds: Int64 = 0

    public init(channel: SimChannel, symbolIndex: Int, symbol: String, sequence: UInt64, timeMilliseconds: Int64) {
        self.channel = channel
        self.symbolIndex = symbolIndex
        self.symbol = symbol
        self.sequence = sequence
        self.timeMilliseconds = timeMilliseconds
    }
}

import XYContracts

/// Plain-value builders for the events the tests feed in.
enum Events {
    static func trade(_ symbol: String, price: Double, size: Double, timeNs: Int64, sequence: UInt64 = 0) -> Xy_Md_V1_MarketEvent {
        var trade = Xy_Md_V1_Trade()
        trade.price = price
        trade.size = size
        return event(symbol, timeNs: timeNs, sequence: sequence, .trade(trade))
    }

    static func quote(
        _ symbol: String, bid: Double, bidSize: Double, ask: Double, askSize: Double, timeNs: Int64, sequence: UInt64 = 0
    ) -> Xy_Md_V1_MarketEvent {
        var quote = Xy_Md_V1_Quote()
        quote.bidPrice = bid
        quote.bidSize = bidSize
        quote.askPrice = ask
        quote.askSize = askSize
        return event(symbol, timeNs: timeNs, sequence: sequence, .quote(quote))
    }

    static func aggregate(
        _ symbol: String, open: Double, high: Double, low: Double, close: Double, dayVolume: Double, timeNs: Int64,
        sequence: UInt64 = 0
    ) -> Xy_Md_V1_MarketEvent {
        var aggregate = Xy_Md_V1_Aggregate()
        aggregate.open = open
        aggregate.high = high
        aggregate.low = low
        aggregate.close = close
        aggregate.dayVolume = dayVolume
        return event(symbol, timeNs: timeNs, sequence: sequence, .aggregate(aggregate))
    }

    private static func event(
        _ symbol: String, timeNs: Int64, sequence: UInt64, _ kind: Xy_Md_V1_MarketEvent.OneOf_Event
    ) -> Xy_Md_V1_MarketEvent {
        var event = Xy_Md_V1_MarketEvent()
        event.symbol = symbol
        event.eventTimeNs = timeNs
        event.vendorSequence = sequence
        event.event = kind
        return event
    }
}

/// A seeded generator (SplitMix64) so every property run can be replayed from its seed.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

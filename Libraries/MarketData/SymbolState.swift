import XYContracts

/// The latest known state of one symbol, folded from its trades, quotes and aggregates: what a
/// `SymbolTick` carries, plus the ordering keys that decide whether the next event is stale.
///
/// Each kind of event is ordered against its own kind only. Quotes outnumber trades by far and
/// vendors stamp them on separate clocks; one key for both would throw away a trade (and its
/// volume) only because a quote a microsecond newer happened to arrive first.
public struct SymbolState: Hashable, Sendable {
    public let symbol: String
    /// Last trade price and size; 0 before the first trade.
    public var last: Double = 0
    public var lastSize: Double = 0
    public var bid: Double = 0
    public var bidSize: Double = 0
    public var ask: Double = 0
    public var askSize: Double = 0
    /// Today's open, high and low; 0 until the first trade or aggregate of the day.
    public var open: Double = 0
    public var high: Double = 0
    public var low: Double = 0
    /// Volume traded today.
    public var volume: Double = 0
    /// Close of the previous trading day; 0 when unknown.
    public var previousClose: Double = 0
    /// Time of the newest event folded in, whatever its kind.
    public var eventTimeNs: Int64 = 0
    /// The newest trade, quote and aggregate applied.
    public var lastTrade: EventKey = .none
    public var lastQuote: EventKey = .none
    public var lastAggregate: EventKey = .none

    public init(symbol: String) {
        self.symbol = symbol
    }

    /// `last - previousClose`; 0 while either is unknown (0), so a missing reference never
    /// shows as a move of the whole price.
    public var change: Double {
        previousClose > 0 && last > 0 ? last - previousClose : 0
    }

    /// `change` in percent of the previous close; 0 while either is unknown.
    public var changePercent: Double {
        previousClose > 0 && last > 0 ? (last - previousClose) / previousClose * 100 : 0
    }

    /// Folds in a trade; the caller has checked that it is not stale.
    mutating func applyTrade(price: Double, size: Double, key: EventKey) {
        last = price
        lastSize = size
        volume += size
        if open == 0 { open = price }
        if price > high { high = price }
        if low == 0 || price < low { low = price }
        lastTrade = key
        if key.timeNs > eventTimeNs { eventTimeNs = key.timeNs }
    }

    /// Folds in a top-of-book quote; the caller has checked that it is not stale.
    mutating func applyQuote(bid: Double, bidSize: Double, ask: Double, askSize: Double, key: EventKey) {
        self.bid = bid
        self.bidSize = bidSize
        self.ask = ask
        self.askSize = askSize
        lastQuote = key
        if key.timeNs > eventTimeNs { eventTimeNs = key.timeNs }
    }

    /// Folds in a vendor aggregate: it widens the day's range, can only raise the day's volume
    /// (trades already counted are part of the vendor's figure), and sets `last` to its close
    /// when it is newer than the last trade applied.
    mutating func applyAggregate(_ aggregate: MarketEventFields, key: EventKey) {
        if open == 0, aggregate.open > 0 { open = aggregate.open }
        if aggregate.high > high { high = aggregate.high }
        if aggregate.low > 0, low == 0 || aggregate.low < low { low = aggregate.low }
        if aggregate.dayVolume > volume { volume = aggregate.dayVolume }
        if aggregate.close > 0, key.timeNs > lastTrade.timeNs { last = aggregate.close }
        lastAggregate = key
        if key.timeNs > eventTimeNs { eventTimeNs = key.timeNs }
    }

    /// The state with every value a valid event could have set: prices, sizes and the volume out
    /// of ``EventValidation``'s ranges become 0 (unknown, as before any event), a quote side
    /// without a valid price loses its size too, and an ordering key stamped after `notAfterNs` or
    /// before the epoch becomes `.none` (the next event of its kind applies). `eventTimeNs` is then
    /// the newest key left, when it was out of range itself.
    public func repaired(notAfterNs: Int64) -> SymbolState {
        var state = self
        func price(_ value: Double) -> Double { EventValidation.isPrice(value) ? value : 0 }
        func size(_ value: Double) -> Double { EventValidation.isSize(value) ? value : 0 }
        func key(_ key: EventKey) -> EventKey { key.timeNs >= 0 && key.timeNs <= notAfterNs ? key : .none }
        state.last = price(last)
        state.lastSize = size(lastSize)
        state.bid = price(bid)
        state.bidSize = state.bid > 0 ? size(bidSize) : 0
        state.ask = price(ask)
        state.askSize = state.ask > 0 ? size(askSize) : 0
        if state.bid > 0, state.ask > 0, state.bid > state.ask {
            (state.bid, state.bidSize, state.ask, state.askSize) = (0, 0, 0, 0)
        }
        state.open = price(open)
        state.high = price(high)
        state.low = price(low)
        state.volume = EventValidation.isVolume(volume) ? volume : 0
        state.previousClose = price(previousClose)
        state.lastTrade = key(lastTrade)
        state.lastQuote = key(lastQuote)
        state.lastAggregate = key(lastAggregate)
        if eventTimeNs < 0 || eventTimeNs > notAfterNs {
            state.eventTimeNs = max(state.lastTrade.timeNs, state.lastQuote.timeNs, state.lastAggregate.timeNs)
        }
        return state
    }

    /// Starts a new trading day: today's last price becomes the previous close (unless it is
    /// unknown), the day's range and volume start over; quotes and ordering keys stay.
    public mutating func startNewDay() {
        if last > 0 { previousClose = last }
        open = 0
        high = 0
        low = 0
        volume = 0
    }
}

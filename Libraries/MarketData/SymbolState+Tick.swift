import XYContracts

extension SymbolState {
    /// The state as the unit of tick batches and snapshots. `change` and `changePercent` are
    /// derived from `last` and `previousClose`, so a state rebuilt from the tick computes the
    /// very same values.
    public var tick: Xy_Md_V1_SymbolTick {
        var tick = Xy_Md_V1_SymbolTick()
        tick.symbol = symbol
        tick.last = last
        tick.lastSize = lastSize
        tick.bid = bid
        tick.bidSize = bidSize
        tick.ask = ask
        tick.askSize = askSize
        tick.change = change
        tick.changePercent = changePercent
        tick.volume = volume
        tick.eventTimeNs = eventTimeNs
        tick.open = open
        tick.high = high
        tick.low = low
        tick.previousClose = previousClose
        tick.tradeTimeNs = lastTrade.timeNs
        tick.tradeSequence = lastTrade.sequence
        tick.quoteTimeNs = lastQuote.timeNs
        tick.quoteSequence = lastQuote.sequence
        tick.aggregateTimeNs = lastAggregate.timeNs
        tick.aggregateSequence = lastAggregate.sequence
        return tick
    }

    /// The state a tick describes, exactly (the inverse of `tick`). A tick from a producer
    /// that predates the ordering fields rebuilds with `.none` keys: every later event applies.
    public init(tick: Xy_Md_V1_SymbolTick) {
        self.init(symbol: tick.symbol)
        last = tick.last
        lastSize = tick.lastSize
        bid = tick.bid
        bidSize = tick.bidSize
        ask = tick.ask
        askSize = tick.askSize
        volume = tick.volume
        eventTimeNs = tick.eventTimeNs
        open = tick.open
        high = tick.high
        low = tick.low
        previousClose = tick.previousClose
        lastTrade = EventKey(timeNs: tick.tradeTimeNs, sequence: tick.tradeSequence)
        lastQuote = EventKey(timeNs: tick.quoteTimeNs, sequence: tick.quoteSequence)
        lastAggregate = EventKey(timeNs: tick.aggregateTimeNs, sequence: tick.aggregateSequence)
    }
}

/// A deterministic market: a random walk per symbol from one seed. Event `k` belongs to symbol
/// `k % symbols.count`; each symbol cycles trades and quotes, with a second aggregate (`A`) and a
/// minute aggregate (`AM`) every 50 of its events. Same seed, same symbols → same events.
public struct SimMarket: Sendable {
    /// Running state of one symbol, also what the REST snapshot shows.
    public struct SymbolState: Sendable, Hashable {
        public var symbol: String
        var random: SimRandom
        public var priceCents: Int64
        public var sequence: UInt64 = 0
        public var tradeCount: UInt64 = 0
        public var previousCloseCents: Int64
        // Day
        public var dayOpenCents: Int64
        public var dayHighCents: Int64
        public var dayLowCents: Int64
        public var dayVolume: Int64 = 0
        public var dayNotionalCents: Int64 = 0
        // Windows since the last A and AM
        var second = Window()
        var minute = Window()
        public var lastMinute: Window?
        // Last trade and quote
        public var lastTradeSize: Int64 = 0
        public var lastTradeExchange: Int = 0
        public var lastTradeMilliseconds: Int64 = 0
        public var bidCents: Int64 = 0
        public var bidSize: Int64 = 0
        public var askCents: Int64 = 0
        public var askSize: Int64 = 0
        public var lastQuoteMilliseconds: Int64 = 0
        public var updatedMilliseconds: Int64 = 0

        public var dayVWAPTenThousandths: Int64 {
            dayVolume == 0 ? priceCents * 100 : dayNotionalCents * 100 / dayVolume
        }
    }

    /// Open/high/low/close/volume over the trades of one aggregate window.
    public struct Window: Sendable, Hashable {
        public var openCents: Int64 = 0
        public var highCents: Int64 = 0
        public var lowCents: Int64 = 0
        public var closeCents: Int64 = 0
        public var volume: Int64 = 0
        public var notionalCents: Int64 = 0
        public var trades: Int64 = 0
        public var startMilliseconds: Int64 = 0

        mutating func add(priceCents: Int64, size: Int64, time: Int64) {
            if trades == 0 {
                openCents = priceCents
                highCents = priceCents
                lowCents = priceCents
                startMilliseconds = time
            }
            highCents = max(highCents, priceCents)
            lowCents = min(lowCents, priceCents)
            closeCents = priceCents
            volume += size
            notionalCents += priceCents * size
            trades += 1
        }

        public var vwapTenThousandths: Int64 { volume == 0 ? closeCents * 100 : notionalCents * 100 / volume }
    }

    public let symbols: [String]
    public private(set) var states: [SymbolState]
    /// Events generated so far.
    public private(set) var generated: UInt64 = 0

    public init(symbols: [String], seed: UInt64) {
        precondition(!symbols.isEmpty, "a market needs at least one symbol")
        self.symbols = symbols
        self.states = symbols.map { symbol in
            var random = SimRandom(seed: seed ^ SimRandom.hash(symbol))
            let start = Int64(1000 + random.below(49_000))
            return SymbolState(
                symbol: symbol, random: random, priceCents: start, previousCloseCents: start - 50 + Int64(random.below(101)),
                dayOpenCents: start, dayHighCents: start, dayLowCents: start
            )
        }
    }

    public var symbolIndex: [String: Int] {
        Dictionary(uniqueKeysWithValues: symbols.enumerated().map { ($1, $0) })
    }

    /// The next event of the market, stamped `timeMilliseconds`.
    public mutating func next(timeMilliseconds time: Int64) -> SimEvent {
        let index = Int(generated % UInt64(symbols.count))
        generated += 1
        return states[index].withNext(index: index, time: time)
    }
}

extension SimMarket.SymbolState {
    fileprivate mutating func withNext(index: Int, time: Int64) -> SimEvent {
        sequence += 1
        let position = sequence % 50
        updatedMilliseconds = time
        if position == 25 {
            return aggregate(.secondAggregate, index: index, time: time)
        }
        if position == 0 {
            return aggregate(.minuteAggregate, index: index, time: time)
        }
        let step = Int64(random.below(7)) - 3
        priceCents = max(100, priceCents + step)
        dayHighCents = max(dayHighCents, priceCents)
        dayLowCents = min(dayLowCents, priceCents)
        var event = SimEvent(channel: sequence % 2 == 1 ? .trade : .quote, symbolIndex: index, symbol: symbol, sequence: sequence, timeMilliseconds: time)
        event.tape = 1 + index % 3
        if event.channel == .trade {
            tradeCount += 1
            event.priceCents = priceCents
            event.size = Int64(1 + random.below(10)) * 100
            event.exchange = Int(1 + random.below(19))
            event.tradeID = String(tradeCount)
            event.conditions = random.below(4) == 0 ? [14, 41] : []
            dayVolume += event.size
            dayNotionalCents += priceCents * event.size
            second.add(priceCents: priceCents, size: event.size, time: time)
            minute.add(priceCents: priceCents, size: event.size, time: time)
            lastTradeSize = event.size
            lastTradeExchange = event.exchange
            lastTradeMilliseconds = time
        } else {
            let spread = Int64(1 + random.below(3))
            event.bidCents = max(1, priceCents - spread)
            event.askCents = priceCents + spread
            event.bidSize = Int64(1 + random.below(20))
            event.askSize = Int64(1 + random.below(20))
            event.bidExchange = Int(1 + random.below(19))
            event.askExchange = Int(1 + random.below(19))
            event.conditions = [0]
            bidCents = event.bidCents
            bidSize = event.bidSize
            askCents = event.askCents
            askSize = event.askSize
            lastQuoteMilliseconds = time
        }
        return event
    }

    private mutating func aggregate(_ channel: SimChannel, index: Int, time: Int64) -> SimEvent {
        var window = channel == .secondAggregate ? second : minute
        if window.trades == 0 {
            window.add(priceCents: priceCents, size: 0, time: time)
        }
        var event = SimEvent(channel: channel, symbolIndex: index, symbol: symbol, sequence: sequence, timeMilliseconds: time)
        event.volume = window.volume
        event.dayVolume = dayVolume
        event.dayOpenCents = dayOpenCents
        event.vwapTenThousandths = window.vwapTenThousandths
        event.openCents = window.openCents
        event.closeCents = window.closeCents
        event.highCents = window.highCents
        event.lowCents = window.lowCents
        event.dayVWAPTenThousandths = dayVWAPTenThousandths
        event.averageSize = window.trades == 0 ? 0 : window.volume / window.trades
        event.startMilliseconds = window.startMilliseconds
        event.endMilliseconds = time
        if channel == .secondAggregate {
            second = SimMarket.Window()
        } else {
            lastMinute = window
            minute = SimMarket.Window()
        }
        return event
    }
}

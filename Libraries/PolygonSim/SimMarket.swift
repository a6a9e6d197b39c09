/// A deterministic market: a random walk per symbol from the seed and the symbol's name, so a
/// symbol's series of events is the same whatever else trades and whenever it starts. Symbols take
/// turns by activity (``SimSchedule``); each cycles trades and quotes, with a second aggregate
/// (`A`) and a minute aggregate (`AM`) every 50 of its events. Same seed, same symbol → same events.
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
        /// The last trade's price; the walk's start before any trade.
        public var lastTradeCents: Int64 = 0
        public var lastTradeSize: Int64 = 0
        public var lastTradeExchange: Int = 0
        public var lastTradeMilliseconds: Int64 = 0
        public var bidCents: Int64 = 0
        public var bidSize: Int64 = 0
        public var askCents: Int64 = 0
        public var askSize: Int64 = 0
        public var lastQuoteMilliseconds: Int64 = 0
        public var updatedMilliseconds: Int64 = 0
        /// The tape (`z`: 1 NYSE, 2 NYSE Arca/American, 3 Nasdaq), fixed by the name.
        public var tape: Int = 1

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

    /// Every symbol the market has traded or been asked about, in the order it first appeared;
    /// an index into it never changes, so events and subscriptions can name a symbol by number.
    public private(set) var symbols: [String] = []
    public private(set) var states: [SymbolState] = []
    /// Events generated so far.
    public private(set) var generated: UInt64 = 0
    private var indexBySymbol: [String: Int] = [:]
    private let seed: UInt64
    private var schedule = SimSchedule()

    /// A market trading `symbols` from the start (each at its universe activity), as replays and
    /// tests use it; the feed starts empty and activates what clients subscribe to.
    public init(symbols: [String], seed: UInt64) {
        self.seed = seed
        for symbol in symbols { activate(symbol) }
    }

    /// The symbols generating events now.
    public var activeSymbols: Set<String> {
        Set(schedule.activeIndices.map { symbols[$0] })
    }

    /// The sum of the active symbols' activities: the feed's rate follows it.
    public var activeActivity: Int { schedule.totalWeight }

    /// The number that names `symbol` in events, adding its state (not trading) when new.
    public mutating func index(of symbol: String) -> Int {
        if let index = indexBySymbol[symbol] { return index }
        let index = symbols.count
        symbols.append(symbol)
        indexBySymbol[symbol] = index
        states.append(SymbolState(symbol: symbol, seed: seed))
        return index
    }

    /// The state of `symbol` without adding it: its live state, or the one it would start from.
    public func state(of symbol: String) -> SymbolState {
        indexBySymbol[symbol].map { states[$0] } ?? SymbolState(symbol: symbol, seed: seed)
    }

    /// Starts generating events for `symbol` (a no-op when it already trades), continuing its walk
    /// where it stopped if it traded before.
    public mutating func activate(_ symbol: String) {
        let index = index(of: symbol)
        // A wildcard's reconciliation re-activates the whole list; skip the profile lookup then.
        guard !schedule.isActive(index) else { return }
        schedule.activate(index, weight: SimUniverse.instrument(for: symbol).activity)
    }

    /// Stops generating events for `symbol`; its state stays for the snapshot and a later return.
    public mutating func deactivate(_ symbol: String) {
        guard let index = indexBySymbol[symbol] else { return }
        schedule.deactivate(index)
    }

    /// The next event of the market, stamped `timeMilliseconds`, from the active symbol whose
    /// turn it is (each symbol's share of events is its activity's share). Only called while
    /// something trades (``activeActivity`` > 0): the feed checks, and a replay names its symbols.
    public mutating func next(timeMilliseconds time: Int64) -> SimEvent {
        guard let index = schedule.next() else { preconditionFailure("next() on a market where nothing trades") }
        generated += 1
        return states[index].withNext(index: index, time: time)
    }
}

extension SimMarket.SymbolState {
    /// Where `symbol` starts: the universe's reference price as the previous close, and an open
    /// within 1 % of it, drawn from the seed and the name.
    init(symbol: String, seed: UInt64) {
        var random = SimRandom(seed: seed ^ SimRandom.hash(symbol))
        let reference = SimUniverse.instrument(for: symbol).referenceCents
        let gapBasisPoints = Int64(random.below(201)) - 100
        let open = max(1, reference + reference * gapBasisPoints / 10_000)
        self.init(
            symbol: symbol, random: random, priceCents: open, previousCloseCents: reference,
            dayOpenCents: open, dayHighCents: open, dayLowCents: open
        )
        tape = 1 + Int(SimRandom.hash(symbol) % 3)
        lastTradeCents = open
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
        // Steps of up to 3 ticks of a cent (a tenth of a basis point above $1,000); a name under
        // $100 moves on a share of its events in proportion to its price, so a $2 stock ticks a
        // cent now and then rather than jumping percents. Past 4 % from the open the walk is pulled
        // back, so a long run stays near the facts it started from.
        let tick = max(1, priceCents / 100_000)
        var step: Int64 = 0
        if random.below(10_000) < UInt64(min(10_000, priceCents)) {
            step = (Int64(random.below(7)) - 3) * tick
        }
        if priceCents > dayOpenCents + dayOpenCents * 4 / 100 {
            step -= tick
        } else if priceCents < dayOpenCents - dayOpenCents * 4 / 100 {
            step += tick
        }
        priceCents = max(1, priceCents + step)
        dayHighCents = max(dayHighCents, priceCents)
        dayLowCents = min(dayLowCents, priceCents)
        var event = SimEvent(channel: sequence % 2 == 1 ? .trade : .quote, symbolIndex: index, symbol: symbol, sequence: sequence, timeMilliseconds: time)
        event.tape = tape
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
            lastTradeCents = priceCents
            lastTradeSize = event.size
            lastTradeExchange = event.exchange
            lastTradeMilliseconds = time
        } else {
            let spread = Int64(1 + random.below(3)) * tick
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

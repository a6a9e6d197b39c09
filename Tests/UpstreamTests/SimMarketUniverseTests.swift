import Logging
import PolygonSim
import Testing

/// The simulator's market as a stand-in for a real one: the universe's facts, the walk of any other
/// ticker, the share of events by activity, and a market that trades only what is subscribed.
@Suite("Polygon simulator market")
struct SimMarketUniverseTests {
    @Test("the universe: a few hundred real tickers, unique, US-shaped, plausible prices, busiest first")
    func universeFacts() {
        let all = SimUniverse.instruments
        #expect(all.count >= 300)
        #expect(Set(all.map(\.symbol)).count == all.count)
        #expect(all.allSatisfy { SimUniverse.isWellFormed($0.symbol) && !$0.name.isEmpty && $0.activity > 0 })
        // Between $1 and $10,000 a share, as US equities and ETFs are.
        #expect(all.allSatisfy { (100...1_000_000).contains($0.referenceCents) })
        #expect(zip(all, all.dropFirst()).allSatisfy { $0.activity >= $1.activity })
        // A few names anyone would check, near where they traded in mid-2025.
        let expectations: [(String, ClosedRange<Int64>)] = [("AAPL", 15_000...26_000), ("SPY", 50_000...70_000), ("MSFT", 35_000...55_000), ("BRK.B", 40_000...55_000), ("F", 800...1_500)]
        for (symbol, range) in expectations {
            #expect(SimUniverse.contains(symbol))
            #expect(range.contains(SimUniverse.instrument(for: symbol).referenceCents), "\(symbol)")
        }
        // `--symbols 10`, the aggregator's default demo group (AggregatorConfiguration.defaultSymbols).
        #expect(SimUniverse.mostActive(10) == ["SPY", "NVDA", "TSLA", "AAPL", "AMD", "AMZN", "QQQ", "MSFT", "META", "PLTR"])
        #expect(SimUniverse.instrument(for: "SPY").activity > SimUniverse.instrument(for: "ODFL").activity)
    }

    @Test("a US-shaped ticker is well formed; digits, `_`, `:` and long names are not")
    func wellFormed() {
        for symbol in ["A", "IBM", "ZZZQ", "GOOGL", "BRK.B", "BF.B", "PBR.A"] {
            #expect(SimUniverse.isWellFormed(symbol), "\(symbol)")
        }
        for symbol in ["", "S0001", "NO_SUCH", "X:BTCUSD", "TOOLONG", "aapl", "BRK.", ".B", "BRK.BBB", "A.B.C"] {
            #expect(!SimUniverse.isWellFormed(symbol), "\(symbol)")
        }
    }

    @Test("another ticker: a quiet profile and a walk fixed by its name, the same alone or among others")
    func deterministicWalk() {
        let profile = SimUniverse.instrument(for: "ZZZQ")
        #expect(profile == SimUniverse.instrument(for: "ZZZQ"))
        #expect((1...5).contains(profile.activity))
        #expect((100...40_000).contains(profile.referenceCents))
        #expect(SimUniverse.instrument(for: "ZZZQ") != SimUniverse.instrument(for: "ZZZR"))

        // It starts at its reference (the previous close) within 1 %, whether or not it trades.
        let start = SimMarket(symbols: [], seed: 9).state(of: "ZZZQ")
        #expect(start.previousCloseCents == profile.referenceCents)
        #expect(abs(start.priceCents - profile.referenceCents) * 100 <= profile.referenceCents)
        #expect(start.sequence == 0)

        var alone = SimMarket(symbols: ["ZZZQ"], seed: 9)
        let series = (0..<300).map { _ in alone.next(timeMilliseconds: 5) }
        var crowded = SimMarket(symbols: ["SPY", "ZZZQ", "AAPL", "QQQ"], seed: 9)
        var amongOthers: [SimEvent] = []
        while amongOthers.count < 300 {
            let event = crowded.next(timeMilliseconds: 5)
            if event.symbol == "ZZZQ" { amongOthers.append(event) }
        }
        #expect(series.map(\.withoutIndex) == amongOthers.map(\.withoutIndex))
        #expect(series.first?.sequence == 1)
        // A day's walk stays near the facts: within 5 % of the open.
        var busy = SimMarket(symbols: ["AAPL"], seed: 9)
        let open = busy.state(of: "AAPL").dayOpenCents
        for _ in 0..<20_000 {
            let event = busy.next(timeMilliseconds: 5)
            if event.channel == .trade { #expect(abs(event.priceCents - open) * 20 <= open) }
        }
    }

    @Test("a stopped symbol keeps its state and continues its series where it stopped")
    func stopAndRestart() {
        var market = SimMarket(symbols: ["AAPL", "ZZZQ"], seed: 4)
        var reference = SimMarket(symbols: ["ZZZQ"], seed: 4)
        let expected = (0..<40).map { _ in reference.next(timeMilliseconds: 1) }
        var got: [SimEvent] = []
        while got.count < 20 {
            let event = market.next(timeMilliseconds: 1)
            if event.symbol == "ZZZQ" { got.append(event) }
        }
        market.deactivate("ZZZQ")
        #expect(market.activeSymbols == ["AAPL"])
        #expect((0..<500).allSatisfy { _ in market.next(timeMilliseconds: 1).symbol == "AAPL" })
        #expect(market.state(of: "ZZZQ").sequence == 20)
        market.activate("ZZZQ")
        while got.count < 40 {
            let event = market.next(timeMilliseconds: 1)
            if event.symbol == "ZZZQ" { got.append(event) }
        }
        #expect(got.map(\.withoutIndex) == expected.map(\.withoutIndex))
    }

    @Test("each symbol's share of events is its activity's share, evenly spread")
    func activityShares() {
        let symbols = ["SPY", "IBM", "ODFL", "ZZZQ"]
        var market = SimMarket(symbols: symbols, seed: 2)
        let total = 100_000
        var counts: [String: Int] = [:]
        var lastSeen: [String: Int] = [:]
        var longestGap: [String: Int] = [:]
        for position in 0..<total {
            let symbol = market.next(timeMilliseconds: 1).symbol
            counts[symbol, default: 0] += 1
            longestGap[symbol] = max(longestGap[symbol] ?? 0, position - (lastSeen[symbol] ?? 0))
            lastSeen[symbol] = position
        }
        let weights = symbols.map { SimUniverse.instrument(for: $0).activity }
        let weightTotal = weights.reduce(0, +)
        #expect(market.activeActivity == weightTotal)
        for (symbol, weight) in zip(symbols, weights) {
            let expected = Double(total) * Double(weight) / Double(weightTotal)
            #expect(abs(Double(counts[symbol] ?? 0) - expected) <= Double(symbols.count), "\(symbol): \(counts[symbol] ?? 0) events, \(expected) expected")
            // Stride scheduling spreads a symbol's turns: no gap much beyond its average spacing.
            #expect(Double(longestGap[symbol] ?? 0) <= Double(weightTotal) / Double(weight) + Double(symbols.count), "\(symbol)")
        }
    }

    @Test("the feed trades only the union of what connections subscribe to, at --rate split by activity")
    func feedFollowsSubscriptions() {
        var configuration = PolygonSimConfiguration()
        configuration.symbols = ["SPY", "AAPL"]
        configuration.rate = 1880
        let feed = SimFeed(configuration: configuration, logger: Logger(label: "test"))
        // Per unit of activity: 1880 events/s over SPY (1000) and AAPL (880).
        #expect(feed.rate(of: "SPY") == 1000)
        #expect(feed.rate(of: "AAPL") == 880)
        #expect(feed.rate(of: "IBM") == Double(SimUniverse.instrument(for: "IBM").activity))
        #expect(feed.activeSymbols.isEmpty && feed.currentRate == 0)

        var wildcard = SimSubscriptions()
        _ = wildcard.apply(params: "T.*,Q.*", subscribe: true)
        let first = feed.setInterest(1, wildcard)
        #expect(feed.activeSymbols == ["SPY", "AAPL"])
        #expect(feed.currentRate == 1880)
        #expect(first.matches(channel: SimChannel.trade.rawValue, symbolIndex: 12_345))
        #expect(!first.matches(channel: SimChannel.minuteAggregate.rawValue, symbolIndex: 0))

        // Another connection names IBM, a ticker outside the list, a made-up US-shaped one and
        // names no vendor has: the tradable ones trade too, each at its own rate.
        var named = SimSubscriptions()
        _ = named.apply(params: "T.IBM,AM.ZZZQ,T.NO_SUCH,T.S0001", subscribe: true)
        _ = feed.setInterest(2, named)
        #expect(feed.activeSymbols == ["SPY", "AAPL", "IBM", "ZZZQ"])
        #expect(feed.currentRate == 1880 + feed.rate(of: "IBM") + feed.rate(of: "ZZZQ"))

        // The wildcard goes: only the named symbols keep trading.
        _ = feed.setInterest(1, SimSubscriptions())
        #expect(feed.activeSymbols == ["IBM", "ZZZQ"])
        _ = named.apply(params: "T.IBM", subscribe: false)
        _ = feed.setInterest(2, named)
        #expect(feed.activeSymbols == ["ZZZQ"])
        feed.unregister(2)
        #expect(feed.activeSymbols.isEmpty && feed.currentRate == 0)

        // REST sees every tradable ticker, traded or not, in the order asked; never NO_SUCH.
        let states = feed.snapshotStates(tickers: ["ZZZQ", "NO_SUCH", "AAPL", "ZZZQ", "QWERT"])
        #expect(states.map(\.symbol) == ["ZZZQ", "AAPL", "QWERT"])
        #expect(states[2].previousCloseCents == SimUniverse.instrument(for: "QWERT").referenceCents)
    }
}

extension SimEvent {
    /// The event without the market's number for its symbol (which depends on arrival order).
    fileprivate var withoutIndex: SimEvent {
        var copy = self
        copy.symbolIndex = 0
        return copy
    }
}

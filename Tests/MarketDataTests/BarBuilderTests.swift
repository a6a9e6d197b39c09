import MarketData
import Testing
import XYContracts

@Suite("One-minute bars")
struct BarBuilderTests {
    private static let minute: Int64 = 60_000_000_000
    private static let second: Int64 = 1_000_000_000
    /// 2026-01-05 14:30:00 UTC, a minute boundary.
    private static let t0: Int64 = 1_767_623_400 * 1_000_000_000

    @Test("the open bar updates in place; a trade in the next minute seals it with OHLCV, VWAP and trade count")
    func sealsAtMinuteBoundary() throws {
        var bars = try BarBuilder()
        #expect(bars.apply(symbol: "AAPL", price: 100, size: 10, timeNs: Self.t0 + 1 * Self.second) == .opened(sealed: nil))
        #expect(bars.apply(symbol: "AAPL", price: 104, size: 30, timeNs: Self.t0 + 20 * Self.second) == .updated)
        #expect(bars.apply(symbol: "AAPL", price: 98, size: 10, timeNs: Self.t0 + 40 * Self.second) == .updated)
        #expect(bars.apply(symbol: "AAPL", price: 101, size: 50, timeNs: Self.t0 + Self.minute - 1) == .updated)

        let open = try #require(bars.openBar(for: "AAPL"))
        #expect(open.sealed == false)
        #expect(open.close == 101)

        let outcome = bars.apply(symbol: "AAPL", price: 102, size: 1, timeNs: Self.t0 + Self.minute)
        let sealed = try #require(outcome.barToPublish)
        #expect(outcome == .opened(sealed: sealed))
        #expect(sealed.symbol == "AAPL")
        #expect(sealed.interval == .oneMinute)
        #expect(sealed.startTimeNs == Self.t0 && sealed.endTimeNs == Self.t0 + Self.minute)
        #expect(sealed.open == 100 && sealed.high == 104 && sealed.low == 98 && sealed.close == 101)
        #expect(sealed.volume == 100)
        let notional: Double = 100.0 * 10 + 104.0 * 30 + 98.0 * 10 + 101.0 * 50
        #expect(sealed.vwap == notional / 100)
        #expect(sealed.tradeCount == 4)
        #expect(sealed.sealed)
        #expect(bars.openBar(for: "AAPL")?.startTimeNs == Self.t0 + Self.minute)
        #expect(bars.counters.sealed == 1 && bars.counters.trades == 5)
    }

    @Test("removing symbols hands back their open bars sealed and keeps the others' bars")
    func removesSymbols() throws {
        var bars = try BarBuilder()
        _ = bars.apply(symbol: "IBM", price: 150, size: 5, timeNs: Self.t0 + Self.second)
        _ = bars.apply(symbol: "IBM", price: 152, size: 5, timeNs: Self.t0 + 2 * Self.second)
        _ = bars.apply(symbol: "SNAP", price: 9, size: 100, timeNs: Self.t0 + 3 * Self.second)
        let removed = bars.remove(["IBM", "NOPE"])
        #expect(removed.count == 1)
        #expect(removed.first?.symbol == "IBM" && removed.first?.sealed == true && removed.first?.tradeCount == 2 && removed.first?.close == 152)
        #expect(bars.openBar(for: "IBM") == nil && bars.heldBars(for: ["IBM"]).isEmpty)
        #expect(bars.index(for: "SNAP") == 0, "SNAP moved down")
        #expect(bars.apply(at: bars.index(for: "SNAP"), price: 10, size: 1, timeNs: Self.t0 + 4 * Self.second) == .updated)
        #expect(bars.openBar(for: "SNAP")?.tradeCount == 2 && bars.openBar(for: "SNAP")?.high == 10)
    }

    @Test("open and close follow event time, not arrival order")
    func openCloseByEventTime() throws {
        var bars = try BarBuilder()
        _ = bars.apply(symbol: "X", price: 10, size: 1, timeNs: Self.t0 + 30 * Self.second)
        _ = bars.apply(symbol: "X", price: 9, size: 1, timeNs: Self.t0 + 5 * Self.second)
        _ = bars.apply(symbol: "X", price: 11, size: 1, timeNs: Self.t0 + 50 * Self.second)
        _ = bars.apply(symbol: "X", price: 12, size: 1, timeNs: Self.t0 + 45 * Self.second)
        let bar = try #require(bars.openBar(for: "X"))
        #expect(bar.open == 9 && bar.close == 11 && bar.high == 12 && bar.low == 9)
    }

    @Test("advancing the clock past a minute seals quiet symbols' bars; minutes without trades have none")
    func advanceSeals() throws {
        var bars = try BarBuilder()
        _ = bars.apply(symbol: "AAPL", price: 100, size: 1, timeNs: Self.t0 + Self.second)
        _ = bars.apply(symbol: "MSFT", price: 400, size: 1, timeNs: Self.t0 + 2 * Self.second)
        #expect(bars.advance(toNs: Self.t0 + Self.minute - 1).isEmpty)
        let sealed = bars.advance(toNs: Self.t0 + Self.minute)
        #expect(sealed.map(\.symbol) == ["AAPL", "MSFT"])
        #expect(sealed.allSatisfy { $0.sealed && $0.startTimeNs == Self.t0 })
        #expect(bars.advance(toNs: Self.t0 + 3 * Self.minute).isEmpty)
        #expect(bars.openBar(for: "AAPL") == nil)
        // The next trade, three minutes on, opens a fresh bar.
        #expect(bars.apply(symbol: "AAPL", price: 101, size: 1, timeNs: Self.t0 + 3 * Self.minute + 1) == .opened(sealed: nil))
    }

    @Test("a late trade within the grace window amends the sealed bar and re-publishes it; after the window it is refused")
    func lateTrades() throws {
        var bars = try BarBuilder(graceNs: 5 * Self.second)
        _ = bars.apply(symbol: "AAPL", price: 100, size: 10, timeNs: Self.t0 + Self.second)
        _ = bars.apply(symbol: "AAPL", price: 101, size: 10, timeNs: Self.t0 + Self.minute + Self.second)

        // 1 s after the minute ended (by the symbol's newest trade): amended.
        let outcome = bars.apply(symbol: "AAPL", price: 110, size: 10, timeNs: Self.t0 + 59 * Self.second)
        guard case .amended(let amended) = outcome else {
            Issue.record("expected an amendment, got \(outcome)")
            return
        }
        #expect(outcome.barToPublish == amended)
        #expect(amended.startTimeNs == Self.t0 && amended.sealed)
        #expect(amended.close == 110 && amended.high == 110 && amended.volume == 20 && amended.tradeCount == 2)
        #expect(amended.vwap == 105)
        #expect(bars.openBar(for: "AAPL")?.volume == 10, "the late trade went into the open bar too")

        // The clock moves to 5 s after the minute's end: the window is over.
        _ = bars.advance(toNs: Self.t0 + Self.minute + 5 * Self.second)
        #expect(bars.apply(symbol: "AAPL", price: 120, size: 10, timeNs: Self.t0 + 58 * Self.second) == .refusedLate)
        #expect(bars.counters.refusedLate == 1 && bars.counters.amended == 1)
        #expect(bars.amendableBars(for: "AAPL").isEmpty, "a bar past its window is still kept")
    }

    @Test("a late trade for a minute that had no bar yet, within the window, makes and publishes a sealed bar")
    func lateTradeForEmptyMinute() throws {
        var bars = try BarBuilder(graceNs: 5 * Self.second)
        _ = bars.apply(symbol: "AAPL", price: 100, size: 1, timeNs: Self.t0 + Self.minute + Self.second)
        let outcome = bars.apply(symbol: "AAPL", price: 99, size: 2, timeNs: Self.t0 + 59 * Self.second)
        #expect(outcome.barToPublish?.startTimeNs == Self.t0)
        #expect(outcome.barToPublish?.sealed == true)
        #expect(outcome.barToPublish?.volume == 2)
        #expect(bars.openBar(for: "AAPL")?.startTimeNs == Self.t0 + Self.minute)
    }

    @Test("a trade for a minute the clock has passed is late even when the symbol had no bar")
    func clockMakesLate() throws {
        var bars = try BarBuilder(graceNs: 2 * Self.second)
        _ = bars.advance(toNs: Self.t0 + Self.minute + Self.second)
        #expect(bars.apply(symbol: "AAPL", price: 1, size: 1, timeNs: Self.t0 + 30 * Self.second).barToPublish?.sealed == true)
        _ = bars.advance(toNs: Self.t0 + Self.minute + 2 * Self.second)
        #expect(bars.apply(symbol: "MSFT", price: 1, size: 1, timeNs: Self.t0 + 30 * Self.second) == .refusedLate)
    }

    @Test("bad trades and configurations are refused; quotes are not trades")
    func invalid() throws {
        var bars = try BarBuilder()
        #expect(bars.apply(symbol: "", price: 1, size: 1, timeNs: Self.t0) == .invalid)
        #expect(bars.apply(symbol: "A", price: -1, size: 1, timeNs: Self.t0) == .invalid)
        #expect(bars.apply(symbol: "A", price: 1, size: .infinity, timeNs: Self.t0) == .invalid)
        #expect(bars.apply(symbol: "A", price: 1, size: 1, timeNs: .max) == .invalid)
        #expect(bars.apply(Events.quote("A", bid: 1, bidSize: 1, ask: 2, askSize: 1, timeNs: Self.t0)) == nil)
        #expect(bars.apply(Events.trade("A", price: 1, size: 1, timeNs: Self.t0)) == .opened(sealed: nil))
        #expect(bars.counters.invalid == 4)
        #expect(throws: MarketDataError.self) { try BarBuilder(graceNs: -1) }
        #expect(throws: MarketDataError.self) { try BarBuilder(graceNs: Self.minute) }
        #expect(BarBuilder.minuteStart(-1) == -Self.minute)
        #expect(BarBuilder.minuteStart(Self.t0 + Self.minute - 1) == Self.t0)
    }

    @Test("a builder restored from another's held bars continues them as if never interrupted", arguments: 0..<20)
    func restoreContinues(seed: UInt64) throws {
        var random = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        func next(_ bound: Int64) -> Int64 {
            random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int64((random >> 33) % UInt64(bound))
        }
        // Trades over three minutes, a few out of order and some late, for three symbols.
        var trades: [(symbol: String, price: Double, size: Double, timeNs: Int64)] = []
        var clock = Self.t0
        for _ in 0..<300 {
            clock += next(1_200) * 1_000_000
            let late = next(10) == 0 ? next(8) * Self.second : 0
            trades.append((["AAPL", "MSFT", "SPY"][Int(next(3))], 100 + Double(next(500)) / 100, Double(next(300)), clock - late))
        }
        let cut = Int(next(Int64(trades.count)))
        var original = try BarBuilder(graceNs: 5 * Self.second)
        var published: [Xy_Md_V1_Bar] = []
        for trade in trades[..<cut] {
            _ = original.apply(symbol: trade.symbol, price: trade.price, size: trade.size, timeNs: trade.timeNs)
        }
        var restored = try BarBuilder(graceNs: 5 * Self.second)
        restored.restore(original.heldBars(for: ["AAPL", "MSFT", "SPY"]))
        var republished: [Xy_Md_V1_Bar] = []
        for trade in trades[cut...] {
            published += original.apply(symbol: trade.symbol, price: trade.price, size: trade.size, timeNs: trade.timeNs).barToPublish.map { [$0] } ?? []
            republished += restored.apply(symbol: trade.symbol, price: trade.price, size: trade.size, timeNs: trade.timeNs).barToPublish.map { [$0] } ?? []
        }
        published += original.advance(toNs: clock + Self.minute)
        republished += restored.advance(toNs: clock + Self.minute)
        // Per symbol in publication order (advance lists symbols in the order each builder met them).
        let bySymbol = { (bars: [Xy_Md_V1_Bar]) in ["AAPL", "MSFT", "SPY"].flatMap { symbol in bars.filter { $0.symbol == symbol } } }
        #expect(published.count == republished.count, "cut at \(cut)")
        #expect(published.count >= 3, "at least the three last bars")
        for (expected, actual) in zip(bySymbol(published), bySymbol(republished)) {
            #expect(Self.sameBar(expected, actual), "cut at \(cut): \(expected) vs \(actual)")
        }
    }

    @Test("restore keeps the version with more trades, skips malformed bars, and an open bar whose minute ended seals on advance")
    func restoreRules() throws {
        var source = try BarBuilder()
        _ = source.apply(symbol: "AAPL", price: 100, size: 10, timeNs: Self.t0 + Self.second)
        let one = try #require(source.openBar(for: "AAPL"))
        _ = source.apply(symbol: "AAPL", price: 103, size: 10, timeNs: Self.t0 + 2 * Self.second)
        let two = try #require(source.openBar(for: "AAPL"))
        #expect(two.openTimeNs == Self.t0 + Self.second && two.closeTimeNs == Self.t0 + 2 * Self.second)

        var bars = try BarBuilder()
        var malformed = two
        malformed.openTimeNs = 0
        var wrongInterval = two
        wrongInterval.interval = .oneHour
        #expect(bars.restore([one, two, one, malformed, wrongInterval]) == 3)
        #expect(bars.openBar(for: "AAPL")?.tradeCount == 2, "a symbol of two groups comes back twice: the fuller one stays")
        #expect(bars.advance(toNs: Self.t0 + 30 * Self.second).isEmpty)
        _ = bars.apply(symbol: "AAPL", price: 99, size: 20, timeNs: Self.t0 + 40 * Self.second)
        let sealed = bars.advance(toNs: Self.t0 + Self.minute)
        #expect(sealed.count == 1)
        let bar = try #require(sealed.first)
        #expect([bar.open, bar.high, bar.low, bar.close] == [100, 103, 99, 99])
        #expect(bar.volume == 40 && bar.tradeCount == 3 && bar.sealed)

        // A restored sealed bar is amendable again within the grace window.
        var later = try BarBuilder(graceNs: 5 * Self.second)
        later.restore([bar])
        _ = later.advance(toNs: Self.t0 + Self.minute + Self.second)
        let amended = later.apply(symbol: "AAPL", price: 104, size: 10, timeNs: Self.t0 + 50 * Self.second)
        #expect(amended.barToPublish?.tradeCount == 4 && amended.barToPublish?.high == 104)
    }

    /// Equal bars, the VWAP within rounding (a restored bar's notional is VWAP × volume).
    private static func sameBar(_ a: Xy_Md_V1_Bar, _ b: Xy_Md_V1_Bar) -> Bool {
        var x = a
        var y = b
        let close = abs(a.vwap - b.vwap) <= 1e-9 * max(1, abs(a.vwap))
        x.vwap = 0
        y.vwap = 0
        return close && x == y
    }
}

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
}

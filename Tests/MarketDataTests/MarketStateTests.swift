import MarketData
import Testing
import XYContracts

@Suite("Per-symbol state")
struct MarketStateTests {
    @Test("trades set last, size, open/high/low and volume; quotes set the book; event time is the newest")
    func foldsTradesAndQuotes() throws {
        var state = MarketState()
        #expect(state.apply(Events.trade("AAPL", price: 100, size: 10, timeNs: 1_000)) == .applied(index: 0))
        #expect(state.apply(Events.trade("AAPL", price: 103, size: 5, timeNs: 2_000)) == .applied(index: 0))
        #expect(state.apply(Events.trade("AAPL", price: 98, size: 1, timeNs: 3_000)) == .applied(index: 0))
        #expect(state.apply(Events.quote("AAPL", bid: 97.9, bidSize: 3, ask: 98.1, askSize: 4, timeNs: 3_500)) == .applied(index: 0))
        #expect(state.apply(Events.trade("MSFT", price: 400, size: 2, timeNs: 1_500)) == .applied(index: 1))

        let aapl = try #require(state["AAPL"])
        #expect(aapl.last == 98)
        #expect(aapl.lastSize == 1)
        #expect(aapl.open == 100)
        #expect(aapl.high == 103)
        #expect(aapl.low == 98)
        #expect(aapl.volume == 16)
        #expect(aapl.bid == 97.9 && aapl.bidSize == 3 && aapl.ask == 98.1 && aapl.askSize == 4)
        #expect(aapl.eventTimeNs == 3_500)
        #expect(state.index(of: "MSFT") == 1)
        #expect(state.counters.applied == 5 && state.counters.stale == 0 && state.counters.invalid == 0)
    }

    @Test("removing symbols keeps the others' state and order, moving their indices down; a removed symbol starts over")
    func removesSymbols() throws {
        var state = MarketState()
        _ = state.apply(Events.trade("IBM", price: 150, size: 5, timeNs: 1_000))
        _ = state.apply(Events.trade("SNAP", price: 9, size: 100, timeNs: 1_100))
        _ = state.apply(Events.trade("GME", price: 20, size: 1, timeNs: 1_200))
        #expect(state.remove(["IBM", "NOPE"]) == [nil, 0, 1])
        #expect(state.symbols.map(\.symbol) == ["SNAP", "GME"])
        #expect(state.index(of: "SNAP") == 0 && state.index(of: "GME") == 1 && state.index(of: "IBM") == nil)
        #expect(state["SNAP"]?.volume == 100 && state["IBM"] == nil)
        #expect(state.apply(Events.trade("SNAP", price: 9.5, size: 50, timeNs: 2_000)) == .applied(index: 0))
        #expect(state["SNAP"]?.volume == 150)
        #expect(state.apply(Events.trade("IBM", price: 160, size: 1, timeNs: 500)) == .applied(index: 2), "no ordering key left")
        #expect(state["IBM"]?.volume == 1)
    }

    @Test("an event older than the newest applied of its kind, or the same (time, sequence) again, is counted and ignored")
    func staleEvents() throws {
        var state = MarketState()
        _ = state.apply(Events.trade("AAPL", price: 100, size: 10, timeNs: 5_000, sequence: 7))
        let before = try #require(state["AAPL"])

        #expect(state.apply(Events.trade("AAPL", price: 90, size: 1, timeNs: 4_999, sequence: 99)) == .stale(index: 0))
        #expect(state.apply(Events.trade("AAPL", price: 90, size: 1, timeNs: 5_000, sequence: 6)) == .stale(index: 0))
        #expect(state.apply(Events.trade("AAPL", price: 90, size: 1, timeNs: 5_000, sequence: 7)) == .stale(index: 0), "a duplicate")
        #expect(state["AAPL"] == before, "a stale event changed the state")
        #expect(state.counters.stale == 3)

        // Same time, higher sequence: newer.
        #expect(state.apply(Events.trade("AAPL", price: 101, size: 1, timeNs: 5_000, sequence: 8)) == .applied(index: 0))
        #expect(state["AAPL"]?.last == 101)
        #expect(state["AAPL"]?.volume == 11)

        _ = state.apply(Events.quote("AAPL", bid: 99, bidSize: 1, ask: 102, askSize: 1, timeNs: 6_000))
        #expect(state.apply(Events.quote("AAPL", bid: 1, bidSize: 1, ask: 2, askSize: 1, timeNs: 5_999)) == .stale(index: 0))
        #expect(state["AAPL"]?.bid == 99)
        #expect(state.counters.stale == 4)
        #expect(state.counters.applied == 3)
    }

    @Test("without a vendor sequence, two prints in the same nanosecond both count")
    func sameTimeWithoutSequence() {
        var state = MarketState()
        #expect(state.apply(Events.trade("X", price: 10, size: 1, timeNs: 7)) == .applied(index: 0))
        #expect(state.apply(Events.trade("X", price: 11, size: 2, timeNs: 7)) == .applied(index: 0))
        #expect(state["X"]?.volume == 3)
        #expect(state["X"]?.last == 11)
    }

    @Test("each kind is ordered against its own kind: a trade older than the newest quote still applies")
    func perKindOrdering() {
        var state = MarketState()
        _ = state.apply(Events.quote("AAPL", bid: 99, bidSize: 1, ask: 101, askSize: 1, timeNs: 2_000))
        #expect(state.apply(Events.trade("AAPL", price: 100, size: 5, timeNs: 1_900)) == .applied(index: 0))
        #expect(state["AAPL"]?.volume == 5)
        #expect(state["AAPL"]?.eventTimeNs == 2_000, "event time went backwards")
    }

    @Test("change and change % against the previous close; 0 while the previous close is unknown")
    func change() throws {
        var state = MarketState()
        _ = state.apply(Events.trade("AAPL", price: 110, size: 1, timeNs: 1))
        #expect(state["AAPL"]?.change == 0)
        #expect(state["AAPL"]?.changePercent == 0)
        #expect(state["AAPL"]?.tick.change == 0)

        #expect(state.setPreviousClose(100, for: "AAPL") == 0)
        let aapl = try #require(state["AAPL"])
        #expect(aapl.change == 10)
        #expect(aapl.changePercent == 10)
        #expect(aapl.tick.change == 10 && aapl.tick.changePercent == 10 && aapl.tick.previousClose == 100)

        // Known previous close, no trade yet: no change either.
        _ = state.setPreviousClose(50, for: "MSFT")
        #expect(state["MSFT"]?.change == 0)
    }

    @Test("aggregates widen the range, raise volume to the vendor's day volume, and set last only when newer than the last trade")
    func aggregates() throws {
        var state = MarketState()
        _ = state.apply(Events.trade("AAPL", price: 100, size: 10, timeNs: 10_000))
        _ = state.apply(Events.aggregate("AAPL", open: 99, high: 105, low: 95, close: 104, dayVolume: 5, timeNs: 9_000))
        var aapl = try #require(state["AAPL"])
        #expect(aapl.open == 100, "the first trade is the open")
        #expect(aapl.high == 105 && aapl.low == 95)
        #expect(aapl.volume == 10, "a smaller vendor day volume lowered ours")
        #expect(aapl.last == 100, "an aggregate older than the last trade moved last")

        _ = state.apply(Events.aggregate("AAPL", open: 99, high: 105, low: 95, close: 104, dayVolume: 500, timeNs: 11_000))
        aapl = try #require(state["AAPL"])
        #expect(aapl.volume == 500)
        #expect(aapl.last == 104)
        #expect(state.apply(Events.aggregate("AAPL", open: 1, high: 1, low: 1, close: 1, dayVolume: 1, timeNs: 10_500)) == .stale(index: 0))
    }

    @Test("events without a symbol or kind, and trades at a price that is not positive, are refused with their reason")
    func invalid() {
        var state = MarketState()
        var empty = Xy_Md_V1_MarketEvent()
        empty.symbol = "AAPL"
        empty.eventTimeNs = 1
        #expect(state.apply(empty) == .invalid(.malformed))
        #expect(state.apply(Events.trade("", price: 1, size: 1, timeNs: 1)) == .invalid(.malformed))
        #expect(state.apply(Events.trade("AAPL", price: 0, size: 1, timeNs: 1)) == .invalid(.price))
        #expect(state.apply(Events.trade("AAPL", price: .nan, size: 1, timeNs: 1)) == .invalid(.price))
        #expect(state.apply(Events.trade("AAPL", price: 1, size: -1, timeNs: 1)) == .invalid(.size))
        #expect(state.counters.applied == 0 && state.counters.stale == 0 && state.counters.invalid == 5)
        #expect(state.symbols.isEmpty)
    }

    @Test("a new day: the last price becomes the previous close, range and volume start over")
    func newDay() throws {
        var state = MarketState()
        _ = state.apply(Events.trade("AAPL", price: 100, size: 10, timeNs: 1))
        _ = state.apply(Events.trade("AAPL", price: 120, size: 10, timeNs: 2))
        state.startNewDay()
        let aapl = try #require(state["AAPL"])
        #expect(aapl.previousClose == 120)
        #expect(aapl.open == 0 && aapl.high == 0 && aapl.low == 0 && aapl.volume == 0)
        #expect(aapl.last == 120 && aapl.change == 0)
        _ = state.apply(Events.trade("AAPL", price: 126, size: 1, timeNs: 3))
        #expect(state["AAPL"]?.open == 126)
        #expect(state["AAPL"]?.changePercent == 5)
    }
}

import MarketData
import Testing
import XYContracts

/// Each refusal with plain values: a bad event never changes a symbol, is counted with its reason,
/// and the next good event applies as if it had never come.
@Suite("Event validation")
struct EventValidationTests {
    static let now: Int64 = 1_750_000_000_000_000_000
    static let second: Int64 = 1_000_000_000

    static func trade(price: Double = 100, size: Double = 10, timeNs: Int64 = now, sequence: UInt64 = 0) -> Xy_Md_V1_MarketEvent {
        Events.trade("AAPL", price: price, size: size, timeNs: timeNs, sequence: sequence)
    }

    static func quote(bid: Double = 99, bidSize: Double = 1, ask: Double = 101, askSize: Double = 1) -> Xy_Md_V1_MarketEvent {
        Events.quote("AAPL", bid: bid, bidSize: bidSize, ask: ask, askSize: askSize, timeNs: now)
    }

    static func aggregate(open: Double = 100, high: Double = 105, low: Double = 95, close: Double = 101, dayVolume: Double = 1_000) -> Xy_Md_V1_MarketEvent {
        Events.aggregate("AAPL", open: open, high: high, low: low, close: close, dayVolume: dayVolume, timeNs: now)
    }

    @Test("values out of range are refused, each with its reason", arguments: [
        (trade(price: -1), EventRefusal.price),
        (trade(price: .nan), .price),
        (trade(price: .infinity), .price),
        (trade(price: 2e9), .price),
        (trade(size: -1), .size),
        (trade(size: .nan), .size),
        (trade(size: .infinity), .size),
        (trade(size: 1e308), .size),
        (trade(timeNs: 0), .time),
        (trade(timeNs: -5), .time),
        (quote(bid: -1), .price),
        (quote(ask: .nan), .price),
        (quote(bid: .infinity), .price),
        (quote(bidSize: -3), .size),
        (quote(askSize: .infinity), .size),
        (quote(bid: 102, ask: 101), .crossedQuote),
        (aggregate(open: 0), .price),
        (aggregate(high: .nan), .price),
        (aggregate(low: -1), .price),
        (aggregate(close: .infinity), .price),
        (aggregate(high: 90, low: 95), .aggregateRange),
        (aggregate(open: 120), .aggregateRange),
        (aggregate(close: 90), .aggregateRange),
        (aggregate(dayVolume: .infinity), .volume),
        (aggregate(dayVolume: -1), .volume),
        (aggregate(dayVolume: 1e300), .volume),
    ])
    func refusedValues(event: Xy_Md_V1_MarketEvent, reason: EventRefusal) throws {
        var state = MarketState()
        #expect(state.apply(Self.trade(price: 50, size: 5, timeNs: Self.now - Self.second)) == .applied(index: 0))
        let before = try #require(state["AAPL"])
        #expect(state.apply(event, receivedAtNs: Self.now) == .invalid(reason))
        #expect(state.apply(event) == .invalid(reason), "the checks that need no clock apply without one too")
        #expect(state["AAPL"] == before, "a refused event changed the state")
        #expect(state.counters.invalid == 2 && state.counters.applied == 1)
        #expect(EventValidation.valueRefusal(MarketEventFields(event)) == reason)
    }

    @Test("empty quote sides (price 0) and a locked book (bid = ask) are taken")
    func quoteSides() {
        var state = MarketState()
        #expect(state.apply(Self.quote(bid: 0, bidSize: 0)) == .applied(index: 0))
        #expect(state.apply(Events.quote("AAPL", bid: 100, bidSize: 1, ask: 100, askSize: 1, timeNs: Self.now + 1)) == .applied(index: 0))
        #expect(state.counters.invalid == 0)
    }

    @Test("an event stamped beyond the skew after its receipt is refused and does not freeze the symbol")
    func futureTime() throws {
        var state = MarketState(validation: EventValidation(maxFutureSkewNs: 2 * Self.second))
        let bad = Self.trade(price: 1, size: 1, timeNs: Self.now + 86_400 * Self.second)
        #expect(state.apply(bad, receivedAtNs: Self.now) == .invalid(.futureTime))
        #expect(state.apply(Self.trade(timeNs: Self.now + 2 * Self.second), receivedAtNs: Self.now) == .applied(index: 0), "within the skew")
        #expect(state.apply(Self.trade(price: 101, timeNs: Self.now + 3 * Self.second), receivedAtNs: Self.now + Self.second) == .applied(index: 0))
        #expect(state["AAPL"]?.last == 101)
        #expect(state["AAPL"]?.eventTimeNs == Self.now + 3 * Self.second)
        #expect(EventValidation(maxFutureSkewNs: 0).timeRefusal(Self.now + 1, receivedAtNs: Self.now) == .futureTime)
        #expect(EventValidation(maxFutureSkewNs: Self.second).timeRefusal(.max, receivedAtNs: .max - 1) == nil, "no overflow trap")
        #expect(EventValidation(maxFutureSkewNs: -1).maxFutureSkewNs == 0)
    }

    @Test("a trade that would take the day's volume past its bound is refused; the volume stays a number")
    func volumeStaysFinite() throws {
        var state = MarketState()
        #expect(state.apply(Self.aggregate(dayVolume: EventValidation.maximumVolume - 10)) == .applied(index: 0))
        #expect(state.apply(Self.trade(size: 10)) == .applied(index: 0))
        #expect(state.apply(Self.trade(size: 1, timeNs: Self.now + 1)) == .invalid(.volume))
        let aapl = try #require(state["AAPL"])
        #expect(aapl.volume == EventValidation.maximumVolume)
        #expect(aapl.tick.volume.isFinite)
    }

    @Test("a restored state stamped in the future or holding values out of range is repaired; later events apply")
    func repairRestoredState() throws {
        var poisoned = SymbolState(symbol: "AAPL")
        poisoned.last = .nan
        poisoned.lastSize = -1
        poisoned.bid = 101
        poisoned.bidSize = 5
        poisoned.ask = 100
        poisoned.askSize = 5
        poisoned.high = .infinity
        poisoned.low = 90
        poisoned.volume = .infinity
        poisoned.previousClose = 95
        poisoned.eventTimeNs = Self.now + 86_400 * Self.second
        poisoned.lastTrade = EventKey(timeNs: Self.now + 86_400 * Self.second, sequence: 9)
        poisoned.lastQuote = EventKey(timeNs: Self.now - Self.second, sequence: 0)
        var clean = SymbolState(symbol: "MSFT")
        clean.last = 400
        clean.lastTrade = EventKey(timeNs: Self.now - Self.second, sequence: 1)
        clean.eventTimeNs = Self.now - Self.second
        var snapshot = Xy_Md_V1_Snapshot()
        snapshot.group = "demo"
        snapshot.ticks = [poisoned.tick, clean.tick]

        var state = try MarketState(snapshot: snapshot)
        #expect(state.apply(Self.trade(), receivedAtNs: Self.now) == .stale(index: 0), "the poisoned key makes the next trade stale")
        #expect(state.repair(notAfterNs: Self.now + 5 * Self.second) == ["AAPL"])
        let aapl = try #require(state["AAPL"])
        #expect(aapl.last == 0 && aapl.lastSize == 0 && aapl.high == 0 && aapl.volume == 0)
        #expect(aapl.bid == 0 && aapl.ask == 0 && aapl.bidSize == 0 && aapl.askSize == 0, "a crossed book is dropped")
        #expect(aapl.low == 90 && aapl.previousClose == 95)
        #expect(aapl.lastTrade == .none && aapl.lastQuote == EventKey(timeNs: Self.now - Self.second, sequence: 0))
        #expect(aapl.eventTimeNs == Self.now - Self.second)
        #expect(state["MSFT"] == clean)
        #expect(state.repair(notAfterNs: Self.now + 5 * Self.second).isEmpty, "repairing twice changes nothing")

        #expect(state.apply(Self.trade(price: 102, size: 3), receivedAtNs: Self.now) == .applied(index: 0))
        #expect(state["AAPL"]?.last == 102 && state["AAPL"]?.volume == 3)
    }

    @Test("a bar checkpoint holding a trade stamped beyond the bound is not restored")
    func barCheckpointInTheFuture() throws {
        let minute: Int64 = 60 * Self.second
        let start = Self.now - Self.now % minute
        var original = try BarBuilder()
        _ = original.apply(symbol: "AAPL", price: 10, size: 1, timeNs: start + Self.second)
        _ = original.apply(symbol: "MSFT", price: 20, size: 1, timeNs: start + 86_400 * Self.second)
        let held = original.heldBars(for: ["AAPL", "MSFT"])
        #expect(held.count == 2)

        var restored = try BarBuilder()
        #expect(restored.restore(held, notAfterNs: start + 2 * Self.second) == 1)
        #expect(restored.openBar(for: "AAPL") != nil)
        #expect(restored.openBar(for: "MSFT") == nil)
        #expect(restored.apply(symbol: "MSFT", price: 21, size: 1, timeNs: start + Self.second) == .opened(sealed: nil))

        var huge = held[0]
        huge.volume = .infinity
        #expect(restored.restore([huge]) == 0, "a bar whose volume is not a number is not taken")
    }
}

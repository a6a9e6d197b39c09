import PolygonSim
import Testing

@Suite("Polygon simulator logic")
struct PolygonSimTests {
    @Test("the same seed gives the same events; another seed does not")
    func determinism() {
        var first = SimMarket(symbols: SimSymbols.mostActive(count: 5), seed: 42)
        var second = SimMarket(symbols: SimSymbols.mostActive(count: 5), seed: 42)
        var other = SimMarket(symbols: SimSymbols.mostActive(count: 5), seed: 43)
        let a = (0..<1000).map { _ in first.next(timeMilliseconds: 1).deterministicPart }
        let b = (0..<1000).map { _ in second.next(timeMilliseconds: 99).deterministicPart }
        let c = (0..<1000).map { _ in other.next(timeMilliseconds: 1).deterministicPart }
        #expect(a == b)
        #expect(a != c)
    }

    @Test("per symbol: sequence counts from 1, trades and quotes alternate, A and AM every 50")
    func schedule() {
        var market = SimMarket(symbols: ["AAA", "BBB"], seed: 1)
        let events = (0..<1000).map { _ in market.next(timeMilliseconds: 1) }
        let aaa = events.filter { $0.symbol == "AAA" }
        #expect(aaa.count >= 100)
        #expect(aaa.map(\.sequence) == Array(1...UInt64(aaa.count)))
        #expect(aaa[0].channel == .trade && aaa[1].channel == .quote)
        #expect(aaa[24].channel == .secondAggregate)
        #expect(aaa[49].channel == .minuteAggregate)
        #expect(aaa.allSatisfy { $0.priceCents >= 0 })
    }

    @Test("each channel encodes to the vendor's exact JSON, negative and extreme numbers included")
    func encoderBytes() {
        var trade = SimEvent(channel: .trade, symbolIndex: 0, symbol: "BRK.B", sequence: 42, timeMilliseconds: 1_700_000_000_123)
        trade.exchange = 4
        trade.tradeID = "t9"
        trade.tape = 1
        trade.priceCents = 45_007
        trade.size = 100
        trade.conditions = [14, 41]
        var quote = SimEvent(channel: .quote, symbolIndex: 1, symbol: "A", sequence: 1, timeMilliseconds: 0)
        quote.bidCents = 5
        quote.askCents = -1_234
        quote.bidSize = Int64.max
        quote.askSize = Int64.min + 1
        var minute = SimEvent(channel: .minuteAggregate, symbolIndex: 2, symbol: "Z", sequence: 50, timeMilliseconds: 60_000)
        minute.volume = 10
        minute.vwapTenThousandths = 1_234_567
        minute.dayVWAPTenThousandths = 5
        minute.openCents = 100
        minute.startMilliseconds = 0
        minute.endMilliseconds = 60_000
        let text = String(decoding: SimEventEncoder.frame([trade, quote, minute]), as: UTF8.self)
        #expect(text == "["
            + #"{"ev":"T","sym":"BRK.B","x":4,"i":"t9","z":1,"p":450.07,"s":100,"c":[14,41],"t":1700000000123,"q":42},"#
            + #"{"ev":"Q","sym":"A","bx":0,"bp":0.05,"bs":9223372036854775807,"ax":0,"ap":-12.34,"as":-9223372036854775807,"t":0,"z":0,"q":1},"#
            + #"{"ev":"AM","sym":"Z","v":10,"av":0,"op":0.00,"vw":123.4567,"o":1.00,"c":0.00,"h":0.00,"l":0.00,"a":0.0005,"z":0,"s":0,"e":60000}"#
            + "]")
    }

    @Test("symbols: a list or a count")
    func symbols() {
        #expect(SimSymbols.parse("aapl, MSFT,AAPL") == ["AAPL", "MSFT"])
        #expect(SimSymbols.parse("3") == ["SPY", "NVDA", "TSLA"])
        // Past the universe, generated names fill a benchmark's count.
        let many = SimSymbols.parse("1000")
        #expect(many?.count == 1000 && Set(many ?? []).count == 1000)
        #expect(many?.last == "S" + String(1000 - SimUniverse.instruments.count).leftPadded(to: 4))
        #expect(SimSymbols.parse("0") == nil)
        #expect(SimSymbols.parse("A B") == nil)
    }

    @Test("protocol: greeting, auth, subscribe with wildcards, unsubscribe")
    func connectionProtocol() {
        var machine = SimConnectionStateMachine(apiKey: "k3y!", rejectAuth: false)
        #expect(machine.connected(overLimit: false).send == [#"[{"ev":"status","status":"connected","message":"Connected Successfully"}]"#])
        let early = machine.received(text: #"{"action":"subscribe","params":"T.AAPL"}"#)
        #expect(early.send.first?.contains("not authorized") == true)
        let wrong = machine.received(text: #"{"action":"auth","params":"nope"}"#)
        #expect(wrong.close && wrong.send == [#"[{"ev":"status","status":"auth_failed","message":"authentication failed"}]"#])

        var good = SimConnectionStateMachine(apiKey: "k3y!", rejectAuth: false)
        _ = good.connected(overLimit: false)
        let authenticated = good.received(text: #"{"action":"auth","params":"k3y!"}"#)
        #expect(authenticated.send == [#"[{"ev":"status","status":"auth_success","message":"authenticated"}]"#])
        #expect(authenticated.applied == nil)
        let subscribed = good.received(text: #"{"action":"subscribe","params":"T.AAPL,Q.*,X.AAPL"}"#)
        #expect(subscribed.send.count == 3)
        // What the simulator logs: the change as asked, in arrival order; never the auth message.
        #expect(subscribed.applied == "subscribe T.AAPL,Q.*,X.AAPL")
        #expect(subscribed.send[0].contains("subscribed to: T.AAPL"))
        #expect(subscribed.send[2].contains("invalid channel"))
        #expect(good.subscriptions.matches(channel: .trade, symbol: "AAPL"))
        #expect(!good.subscriptions.matches(channel: .trade, symbol: "MSFT"))
        #expect(good.subscriptions.matches(channel: .quote, symbol: "MSFT"))
        _ = good.received(text: #"{"action":"unsubscribe","params":"Q.*"}"#)
        #expect(!good.subscriptions.matches(channel: .quote, symbol: "MSFT"))
        // Dropping the last channel of a symbol forgets it: nothing left to trade for this client.
        _ = good.received(text: #"{"action":"unsubscribe","params":"T.AAPL"}"#)
        #expect(good.subscriptions.isEmpty)
    }

    @Test("auth timeout, max connections and --reject-auth")
    func refusals() {
        var slow = SimConnectionStateMachine(apiKey: "k", rejectAuth: false)
        _ = slow.connected(overLimit: false)
        let timeout = slow.authTimerFired()
        #expect(timeout.close && timeout.send.first?.contains("auth_timeout") == true)

        var extra = SimConnectionStateMachine(apiKey: "k", rejectAuth: false)
        let refused = extra.connected(overLimit: true)
        #expect(refused.close && refused.send.last?.contains("max_connections") == true)

        var rejecting = SimConnectionStateMachine(apiKey: "good-key", rejectAuth: true)
        _ = rejecting.connected(overLimit: false)
        let rejected = rejecting.received(text: #"{"action":"auth","params":"good-key"}"#)
        #expect(rejected.close && rejected.send.first?.contains("auth_failed") == true)
    }
}

extension String {
    /// `"7".leftPadded(to: 4)` → `"0007"`.
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}

extension SimEvent {
    /// The event without its wall-clock times: what the same seed always reproduces.
    fileprivate var deterministicPart: SimEvent {
        var copy = self
        copy.timeMilliseconds = 0
        copy.startMilliseconds = 0
        copy.endMilliseconds = 0
        return copy
    }
}

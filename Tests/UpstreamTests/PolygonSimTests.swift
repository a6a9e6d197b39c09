import PolygonSim
import Testing

@Suite("Polygon simulator logic")
struct PolygonSimTests {
    @Test("the same seed gives the same events; another seed does not")
    func determinism() {
        var first = SimMarket(symbols: SimSymbols.generated(count: 5), seed: 42)
        var second = SimMarket(symbols: SimSymbols.generated(count: 5), seed: 42)
        var other = SimMarket(symbols: SimSymbols.generated(count: 5), seed: 43)
        let a = (0..<1000).map { _ in first.next(timeMilliseconds: 1).deterministicPart }
        let b = (0..<1000).map { _ in second.next(timeMilliseconds: 99).deterministicPart }
        let c = (0..<1000).map { _ in other.next(timeMilliseconds: 1).deterministicPart }
        #expect(a == b)
        #expect(a != c)
    }

    @Test("per symbol: sequence counts from 1, trades and quotes alternate, A and AM every 50")
    func schedule() {
        var market = SimMarket(symbols: ["AAA", "BBB"], seed: 1)
        let events = (0..<200).map { _ in market.next(timeMilliseconds: 1) }
        let aaa = events.filter { $0.symbol == "AAA" }
        #expect(aaa.map(\.sequence) == Array(1...100))
        #expect(aaa[0].channel == .trade && aaa[1].channel == .quote)
        #expect(aaa[24].channel == .secondAggregate)
        #expect(aaa[49].channel == .minuteAggregate)
        #expect(aaa.allSatisfy { $0.priceCents >= 0 })
    }

    @Test("symbols: a list or a count")
    func symbols() {
        #expect(SimSymbols.parse("aapl, MSFT,AAPL") == ["AAPL", "MSFT"])
        #expect(SimSymbols.parse("3") == ["S0001", "S0002", "S0003"])
        #expect(SimSymbols.parse("0") == nil)
        #expect(SimSymbols.parse("A B") == nil)
    }

    @Test("protocol: greeting, auth, subscribe with wildcards, unsubscribe")
    func connectionProtocol() {
        var machine = SimConnectionStateMachine(apiKey: "k3y!", rejectAuth: false, symbolIndex: ["AAPL": 0, "MSFT": 1])
        #expect(machine.connected(overLimit: false).send == [#"[{"ev":"status","status":"connected","message":"Connected Successfully"}]"#])
        let early = machine.received(text: #"{"action":"subscribe","params":"T.AAPL"}"#)
        #expect(early.send.first?.contains("not authorized") == true)
        let wrong = machine.received(text: #"{"action":"auth","params":"nope"}"#)
        #expect(wrong.close && wrong.send == [#"[{"ev":"status","status":"auth_failed","message":"authentication failed"}]"#])

        var good = SimConnectionStateMachine(apiKey: "k3y!", rejectAuth: false, symbolIndex: ["AAPL": 0, "MSFT": 1])
        _ = good.connected(overLimit: false)
        #expect(good.received(text: #"{"action":"auth","params":"k3y!"}"#).send == [#"[{"ev":"status","status":"auth_success","message":"authenticated"}]"#])
        let subscribed = good.received(text: #"{"action":"subscribe","params":"T.AAPL,Q.*,X.AAPL"}"#)
        #expect(subscribed.send.count == 3)
        #expect(subscribed.send[0].contains("subscribed to: T.AAPL"))
        #expect(subscribed.send[2].contains("invalid channel"))
        #expect(good.subscriptions.matches(channel: .trade, symbolIndex: 0))
        #expect(!good.subscriptions.matches(channel: .trade, symbolIndex: 1))
        #expect(good.subscriptions.matches(channel: .quote, symbolIndex: 1))
        _ = good.received(text: #"{"action":"unsubscribe","params":"Q.*"}"#)
        #expect(!good.subscriptions.matches(channel: .quote, symbolIndex: 1))
    }

    @Test("auth timeout, max connections and --reject-auth")
    func refusals() {
        var slow = SimConnectionStateMachine(apiKey: "k", rejectAuth: false, symbolIndex: [:])
        _ = slow.connected(overLimit: false)
        let timeout = slow.authTimerFired()
        #expect(timeout.close && timeout.send.first?.contains("auth_timeout") == true)

        var extra = SimConnectionStateMachine(apiKey: "k", rejectAuth: false, symbolIndex: [:])
        let refused = extra.connected(overLimit: true)
        #expect(refused.close && refused.send.last?.contains("max_connections") == true)

        var rejecting = SimConnectionStateMachine(apiKey: "good-key", rejectAuth: true, symbolIndex: [:])
        _ = rejecting.connected(overLimit: false)
        let rejected = rejecting.received(text: #"{"action":"auth","params":"good-key"}"#)
        #expect(rejected.close && rejected.send.first?.contains("auth_failed") == true)
    }
}

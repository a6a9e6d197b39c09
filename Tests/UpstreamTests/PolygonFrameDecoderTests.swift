import PolygonSim
import Testing
import Upstream

@Suite("Polygon frame decoder")
struct PolygonFrameDecoderTests {
    private func decode(_ text: String) -> [PolygonFrameDecoder.Item] {
        PolygonFrameDecoder.decode(Array(text.utf8))
    }

    @Test("a trade with every vendor field")
    func trade() throws {
        let items = decode(#"[{"ev":"T","sym":"SPY","x":1,"i":"t1","z":3,"p":450.25,"s":100,"c":[14,41],"t":1700000000000,"q":42}]"#)
        guard case .event(let event) = try #require(items.first), items.count == 1 else {
            Issue.record("expected one event, got \(items)")
            return
        }
        #expect(event.kind == .trade)
        #expect(event.symbol == "SPY")
        #expect(event.exchange == 1)
        #expect(event.tradeID == "t1")
        #expect(event.tape == 3)
        #expect(event.price == 450.25)
        #expect(event.size == 100)
        #expect(event.conditions == [14, 41])
        #expect(event.timeMilliseconds == 1_700_000_000_000)
        #expect(event.sequence == 42)
    }

    @Test("a quote and a minute aggregate in one frame, with whitespace and unknown fields")
    func quoteAndAggregate() throws {
        let frame = """
        [ {"ev":"Q","sym":"AAPL","bx":4,"bp":189.5,"bs":3,"ax":7,"ap":189.52,"as":2,"c":[0],"t":1700000000001,"z":3,"q":7,"extra":{"a":[1,2,{"b":null}]}} ,
          {"ev":"AM","sym":"AAPL","v":1200,"av":56000,"op":188.1,"vw":189.4512,"o":189.1,"c":189.5,"h":189.9,"l":188.9,"a":189.2,"z":120,"s":1700000000000,"e":1700000060000} ]
        """
        let items = decode(frame)
        #expect(items.count == 2)
        guard case .event(let quote) = items[0], case .event(let bar) = items[1] else {
            Issue.record("expected two events, got \(items)")
            return
        }
        #expect(quote.kind == .quote)
        #expect(quote.bidExchange == 4 && quote.bidPrice == 189.5 && quote.bidSize == 3)
        #expect(quote.askExchange == 7 && quote.askPrice == 189.52 && quote.askSize == 2)
        #expect(quote.tape == 3 && quote.sequence == 7 && quote.conditions == [0])
        #expect(bar.kind == .minuteAggregate)
        #expect(bar.open == 189.1 && bar.close == 189.5 && bar.high == 189.9 && bar.low == 188.9)
        #expect(bar.volume == 1200 && bar.dayVolume == 56000 && bar.vwap == 189.4512)
        #expect(bar.startMilliseconds == 1_700_000_000_000 && bar.endMilliseconds == 1_700_000_060_000)
        #expect(bar.timeMilliseconds == 1_700_000_060_000)
        #expect(bar.tape == 0)
    }

    @Test("status messages come back as statuses")
    func status() {
        let items = decode(#"[{"ev":"status","status":"auth_success","message":"authenticated"}]"#)
        #expect(items == [.status(status: "auth_success", message: "authenticated")])
    }

    @Test("a bad element never costs the rest of the frame")
    func malformedElementsAreSkipped() {
        let frame = #"[{"ev":"T","sym":"A","p":1.5,"s":1,"t":1,"q":1},{"ev":"T","sym":"A","p":"x","s":1,"t":1,"q":2},{"ev":"ZZ","sym":"A"},{"ev":"T","sym":"A","p":1..5,,},{"ev":"T","sym":"A","s":1,"t":1},42,{"ev":"T","sym":"A","p":2.5,"s":1,"t":1,"q":3}]"#
        let items = decode(frame)
        let sequences = items.compactMap { item -> UInt64? in
            if case .event(let event) = item { return event.sequence }
            return nil
        }
        #expect(sequences == [1, 3])
        #expect(items.contains(.malformed(.invalidEvent)))
        #expect(items.contains(.malformed(.syntax)))
        #expect(items.contains(.unknown(ev: "ZZ")))
        #expect(items.count == 7)
    }

    @Test("frames that are not arrays, truncated or empty")
    func brokenFrames() {
        #expect(decode("hello") == [.malformed(.syntax)])
        #expect(decode("[]").isEmpty)
        #expect(decode("") == [.malformed(.syntax)])
        let truncated = decode(#"[{"ev":"T","sym":"A","p":1.5,"s":1,"t":1,"q":1},{"ev":"T","sym":"#)
        #expect(truncated.count == 2)
        #expect(truncated.last == .malformed(.syntax))
    }

    @Test("escaped strings and numbers in every JSON form")
    func numbersAndEscapes() throws {
        let items = decode(#"[{"ev":"T","sym":"BRK.B","i":"a\"b\u0041","p":1.5e2,"s":-0,"t":1700000000000,"q":1}]"#)
        guard case .event(let event) = try #require(items.first) else {
            Issue.record("expected an event, got \(items)")
            return
        }
        #expect(event.symbol == "BRK.B")
        #expect(event.tradeID == "a\"bA")
        #expect(event.price == 150)
    }

    @Test("whole-number fields in every JSON form: truncated decimals and exponents, limits, and bad values as type errors")
    func integerFields() throws {
        func sequence(_ text: String) -> PolygonFrameDecoder.Item? {
            decode(#"[{"ev":"T","sym":"A","p":1,"s":1,"t":1700000000000,"q":"# + text + "}]").first
        }
        for (text, expected) in [("42", UInt64(42)), ("0", 0), ("7.9", 7), ("1e3", 1000), ("2.5E1", 25), ("999999999999999999", 999_999_999_999_999_999)] {
            guard case .event(let event) = sequence(text) else {
                Issue.record("no event for q=\(text): \(String(describing: sequence(text)))")
                continue
            }
            #expect(event.sequence == expected, "q=\(text)")
        }
        // Not a number, or one too large for 64 bits: the event is reported, the frame goes on.
        for text in [#""42""#, "1e30", "true"] {
            #expect(sequence(text) == .malformed(.invalidEvent), "q=\(text)")
        }
        // Broken number syntax is a syntax error.
        for text in ["01", "-", "1.", "4x"] {
            #expect(sequence(text) == .malformed(.syntax), "q=\(text)")
        }
        let items = decode(#"[{"ev":"T","sym":"A","p":1,"s":1,"t":-12,"x":-3,"q":1}]"#)
        guard case .event(let event) = try #require(items.first) else {
            Issue.record("expected an event, got \(items)")
            return
        }
        #expect(event.timeMilliseconds == -12)
        #expect(event.exchange == -3)
    }

    @Test("an escaped ev names the same event; broken escapes make it invalid, unknown ones are reported by name")
    func escapedEv() throws {
        let items = decode(#"[{"ev":"\u0054","sym":"A","p":1,"s":1,"t":1},{"ev":"\uZZZZ","sym":"A"},{"ev":"X\u0059","sym":"A"},{"ev":"ZZ","sym":"A"}]"#)
        #expect(items.count == 4)
        guard case .event(let event) = try #require(items.first) else {
            Issue.record("expected a trade, got \(items)")
            return
        }
        #expect(event.kind == .trade)
        #expect(items.dropFirst().map { $0 } == [.malformed(.invalidEvent), .unknown(ev: "XY"), .unknown(ev: "ZZ")])
    }

    @Test("decimal fast path agrees with the standard library on the simulator's prices")
    func decimalsMatchStandardLibrary() throws {
        var random = SimRandom(seed: 3)
        for _ in 0..<2000 {
            let cents = Int64(random.below(10_000_000))
            let text = "\(cents / 100).\(cents % 100 < 10 ? "0" : "")\(cents % 100)"
            let items = decode(#"[{"ev":"T","sym":"A","p":"# + text + #","s":1,"t":1}]"#)
            guard case .event(let event) = try #require(items.first) else {
                Issue.record("no event for \(text)")
                return
            }
            #expect(event.price == Double(text)!, "price \(text)")
        }
    }

    @Test("everything the simulator encodes decodes to the same values")
    func simulatorRoundTrip() {
        var market = SimMarket(symbols: ["AAPL", "MSFT", "BRK.B"], seed: 11)
        let events = (0..<600).map { _ in market.next(timeMilliseconds: 1_700_000_000_000) }
        let items = PolygonFrameDecoder.decode(SimEventEncoder.frame(events))
        #expect(items.count == events.count)
        for (sent, item) in zip(events, items) {
            guard case .event(let got) = item else {
                Issue.record("not an event: \(item)")
                continue
            }
            #expect(got.symbol == sent.symbol)
            switch sent.channel {
            case .trade:
                #expect(got.kind == .trade)
                #expect(got.sequence == sent.sequence)
                #expect(got.price == Double(sent.priceCents) / 100)
                #expect(got.size == Double(sent.size))
                #expect(got.tradeID == sent.tradeID)
                #expect(got.conditions == sent.conditions.map { Int32($0) })
            case .quote:
                #expect(got.kind == .quote)
                #expect(got.sequence == sent.sequence)
                #expect(got.bidPrice == Double(sent.bidCents) / 100)
                #expect(got.askPrice == Double(sent.askCents) / 100)
            case .secondAggregate, .minuteAggregate:
                #expect(got.kind == (sent.channel == .secondAggregate ? .secondAggregate : .minuteAggregate))
                #expect(got.open == Double(sent.openCents) / 100)
                #expect(got.close == Double(sent.closeCents) / 100)
                #expect(got.volume == Double(sent.volume))
            }
        }
    }
}

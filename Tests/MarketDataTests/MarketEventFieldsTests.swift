import MarketData
import Testing
import XYContracts

@Suite("MarketEvent fields read from wire bytes")
struct MarketEventFieldsTests {
    private static func fields(_ event: Xy_Md_V1_MarketEvent, symbol: String? = nil) throws -> MarketEventFields? {
        let bytes: [UInt8] = try event.serializedBytes()
        let expected = Array((symbol ?? event.symbol).utf8)
        return bytes.withUnsafeBytes { wire in expected.withUnsafeBytes { MarketEventFields(wire: wire, symbol: $0) } }
    }

    @Test("every field the fold uses reads as SwiftProtobuf decodes it, whatever else the event carries", arguments: 0..<50)
    func matchesTheGeneratedDecoder(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        var event: Xy_Md_V1_MarketEvent
        let time = Int64.random(in: -1_000...2_000_000_000_000_000_000, using: &random)
        let sequence = UInt64.random(in: 0...UInt64.max, using: &random)
        func price() -> Double { Double.random(in: -10...10_000, using: &random) }
        switch seed % 3 {
        case 0: event = Events.trade("BRK.B", price: price(), size: price(), timeNs: time, sequence: sequence)
        case 1: event = Events.quote("AAPL", bid: price(), bidSize: price(), ask: price(), askSize: price(), timeNs: time, sequence: sequence)
        default:
            event = Events.aggregate("X:BTCUSD", open: price(), high: price(), low: price(), close: price(), dayVolume: price(), timeNs: time, sequence: sequence)
        }
        // Fields the fold skips: they must not disturb the ones it reads.
        event.source = "sim"
        event.receiveTimeNs = time &+ 5
        if case .trade(var trade) = event.event {
            trade.tradeID = "t-\(seed)"
            trade.conditions = [14, 41, -1]
            trade.exchange = 4
            trade.tape = .c
            event.trade = trade
        }
        #expect(try Self.fields(event) == MarketEventFields(event))
    }

    @Test("an event for another symbol, malformed bytes, or no symbol at all read as nil")
    func refusals() throws {
        let trade = Events.trade("AAPL", price: 1, size: 1, timeNs: 5, sequence: 1)
        #expect(try Self.fields(trade, symbol: "AAP") == nil)
        #expect(try Self.fields(trade, symbol: "AAPLX") == nil)
        #expect(try Self.fields(trade, symbol: "") == nil)
        // Every truncation: nil exactly where the generated decoder fails or loses the symbol,
        // otherwise the same fields it decodes.
        let bytes: [UInt8] = try trade.serializedBytes()
        let symbol = Array("AAPL".utf8)
        for cut in 0..<bytes.count {
            let prefix = Array(bytes[..<cut])
            let read = prefix.withUnsafeBytes { wire in symbol.withUnsafeBytes { MarketEventFields(wire: wire, symbol: $0) } }
            if let decoded = try? Xy_Md_V1_MarketEvent(serializedBytes: prefix), decoded.symbol == "AAPL" {
                #expect(read == MarketEventFields(decoded), "cut at \(cut)")
            } else {
                #expect(read == nil, "cut at \(cut)")
            }
        }
        let garbage: [UInt8] = [0x0A, 0x04, 0x41, 0x41, 0x50, 0x4C, 0x53, 0x07]   // AAPL, then an end-group tag
        #expect(garbage.withUnsafeBytes { wire in symbol.withUnsafeBytes { MarketEventFields(wire: wire, symbol: $0) } } == nil)
    }

    @Test("folding the fields at a symbol's index is folding the event")
    func foldsLikeTheEvent() throws {
        var random = SplitMix64(seed: 7)
        var byEvent = MarketState()
        var byFields = MarketState()
        let symbols = ["AAPL", "MSFT"]
        for symbol in symbols { _ = byFields.insert(symbol) }
        for step in 0..<500 {
            let symbol = symbols[step % 2]
            let time = Int64.random(in: 0...1_000, using: &random)
            let event: Xy_Md_V1_MarketEvent
            switch step % 4 {
            case 0: event = Events.quote(symbol, bid: 9, bidSize: 1, ask: 10, askSize: 2, timeNs: time, sequence: UInt64(step))
            case 1: event = Events.aggregate(symbol, open: 8, high: 12, low: 7, close: 9.5, dayVolume: Double(step), timeNs: time)
            default: event = Events.trade(symbol, price: Double.random(in: -1...20, using: &random), size: 3, timeNs: time, sequence: UInt64(step))
            }
            let expected = byEvent.apply(event)
            let index = try #require(byFields.index(of: symbol))
            #expect(byFields.apply(MarketEventFields(event), at: index) == expected)
        }
        #expect(byEvent.symbols == byFields.symbols)
        #expect(byEvent.counters == byFields.counters)
    }
}

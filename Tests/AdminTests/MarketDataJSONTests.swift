@testable import Admin
import AdminAPI
import Foundation
import Testing
import XYCore

/// ``MarketDataJSON`` writes the snapshots and bars answers by hand: what it writes must read back
/// as the generated value it came from and be the same JSON as the generated code's `JSONEncoder`
/// output, escaping included.
@Suite("xy-admin: the hand-written JSON of snapshots and bars")
struct MarketDataJSONTests {
    static let transcoder = MillisecondDateTranscoder()

    static func date(_ milliseconds: Int64) -> Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }

    /// The generated code's encoding (the configuration AdminService registers).
    static func generated<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(try transcoder.encode(date))
        }
        return try encoder.encode(value)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            try transcoder.decode(try decoder.singleValueContainer().decode(String.self))
        }
        return try decoder.decode(type, from: Data(bytes))
    }

    /// Both texts parsed, compared as JSON values (key order and number spelling aside).
    static func sameJSON(_ bytes: [UInt8], _ data: Data) throws -> Bool {
        let mine = try JSONSerialization.jsonObject(with: Data(bytes)) as? NSDictionary
        let theirs = try JSONSerialization.jsonObject(with: data) as? NSDictionary
        return mine != nil && mine == theirs
    }

    static let awkward = "q\"b\\s/n\nr\rt\tb\u{8}f\u{C}nul\u{0}us\u{1F}del\u{7F} é 株 🚀"

    @Test("a snapshots answer with found and missing entries reads back as its generated value, the same JSON as JSONEncoder's")
    func snapshots() throws {
        let list = Components.Schemas.SnapshotList(snapshots: [
            .init(ticker: "AAA", found: true, last: 101.25, change: -1.5, changePct: -1.4598540145985401,
                  updatedAt: Self.date(1_764_912_345_678), source: .aggregator),
            .init(ticker: "B_1-X", found: true, last: 0.0001, change: 0, changePct: 0, updatedAt: Self.date(0), source: .vendor),
            .init(ticker: "BIG", found: true, last: 1.5e300, change: .leastNonzeroMagnitude * 6_072, changePct: 123_456_789.125,
                  updatedAt: Self.date(951_782_400_001), source: .aggregator),
            .init(ticker: "NOPE", found: false, code: .xya033, message: "NOPE is not streamed by this stack"),
            .init(ticker: "QUIET", found: false, code: .xya034, message: Self.awkward),
            .init(ticker: "LOST", found: false, code: .xya035, message: "the aggregator streaming LOST did not answer; try again"),
        ])
        let bytes = try #require(MarketDataJSON.encode(list))
        #expect(try Self.decode(Components.Schemas.SnapshotList.self, bytes) == list)
        #expect(try Self.sameJSON(bytes, Self.generated(list)))
        #expect(!bytes.contains { $0 < 0x20 }, "control characters are escaped")
        #expect(MarketDataJSON.encode(.init(snapshots: [])) == Array(#"{"snapshots":[]}"#.utf8))
    }

    @Test("a page of bars, with and without the optional fields and a cursor, reads back as its generated value")
    func bars() throws {
        let start: Int64 = 1_764_912_300_000
        let bars = (0..<300).map { index -> Components.Schemas.Bar in
            let price = 100 + Double(index % 17) / 8
            return .init(
                start: Self.date(start + Int64(index) * 60_000), startMs: start + Int64(index) * 60_000, open: price,
                high: price + 1, low: price - 1, close: price + 0.5, volume: 1000 + Double(index),
                vwap: index % 3 == 0 ? nil : price + 0.25, trades: index % 5 == 0 ? nil : Int64(index))
        }
        for page in [
            Components.Schemas.BarsPage(ticker: "LIVE", timespan: "minute", multiplier: 5, bars: bars, source: .mixed, nextCursor: Self.awkward),
            Components.Schemas.BarsPage(ticker: "LIVE", timespan: "minute", multiplier: 1, bars: [], source: .stream),
        ] {
            let bytes = try #require(MarketDataJSON.encode(page))
            #expect(try Self.decode(Components.Schemas.BarsPage.self, bytes) == page)
            #expect(try Self.sameJSON(bytes, Self.generated(page)))
        }
    }

    /// The transcoder's range: nanoseconds in an Int64, the years 1677 to 2262.
    @Test("dates are the transcoder's text to the millisecond, across leap days, centuries and before 1970")
    func dates() throws {
        let samples: [Int64] = [
            0, -1, -86_400_000, 951_782_400_000, 951_868_799_999, 4_107_542_399_999, 4_107_542_400_000,
            -8_520_336_000_000, 7_258_118_399_999, 1_764_912_345_678,
        ] + (0..<2000).map { Int64($0) * 7_919_993_113 - 8_000_000_000_000 }
        for milliseconds in samples {
            var writer = JSONBytes(capacity: 32)
            writer.date(Self.date(milliseconds))
            let expected = "\"" + (try Self.transcoder.encode(Self.date(milliseconds))) + "\""
            #expect(String(decoding: writer.bytes, as: UTF8.self) == expected, "\(milliseconds)")
        }
        // Past the transcoder's range (it would overflow) the year is written as it is.
        var writer = JSONBytes(capacity: 32)
        writer.date(Self.date(253_402_300_800_001))
        #expect(String(decoding: writer.bytes, as: UTF8.self) == "\"10000-01-01T00:00:00.001Z\"")
    }

    static func text(_ value: Double) -> String {
        var writer = JSONBytes(capacity: 32)
        writer.number(value)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    @Test("numbers read back as the same Double: prices with few decimals in fixed point, the rest as Swift writes them")
    func numbers() {
        #expect(Self.text(101.25) == "101.25")
        #expect(Self.text(0.005) == "0.005")
        #expect(Self.text(-3) == "-3")
        #expect(Self.text(-0.1) == "-0.1")
        #expect(Self.text(1_000_000) == "1000000")
        #expect(Self.text(0.1 + 0.2) == (0.1 + 0.2).description, "not n / 10^k for k ≤ 6")
        #expect(Self.text(1e-7) == "1e-07")
        #expect(Self.text(-0.0) == "-0.0")
        var generator = SystemRandomNumberGenerator()
        var samples: [Double] = [.greatestFiniteMagnitude, .leastNonzeroMagnitude, 9_007_199_254_740_991, 9_007_199_254_740_992.0.nextUp, 1e22]
        for _ in 0..<20_000 {
            let decimals = Int.random(in: 0...8, using: &generator)
            let units = Int64.random(in: -10_000_000_000...10_000_000_000, using: &generator)
            samples.append(Double(units) / pow(10, Double(decimals)))
            samples.append(Double.random(in: -1e6...1e6, using: &generator))
        }
        for value in samples {
            let text = Self.text(value)
            #expect(Double(text) == value, "\(value) written as \(text)")
            #expect(text.allSatisfy { $0.isNumber || "-.e+".contains($0) }, "JSON's number grammar: \(text)")
        }
        var writer = JSONBytes(capacity: 64)
        for value in [Int64.min, Int64.max, 0, -7, 1_764_912_345_678] {
            writer.integer(value)
            writer.byte(UInt8(ascii: " "))
        }
        #expect(String(decoding: writer.bytes, as: UTF8.self) == "-9223372036854775808 9223372036854775807 0 -7 1764912345678 ")
    }

    @Test("a number JSON cannot hold leaves the answer to the generated path")
    func notFinite() {
        let snapshot = Components.Schemas.Snapshot(ticker: "AAA", found: true, last: .nan, change: 0, changePct: 0, source: .aggregator)
        #expect(MarketDataJSON.encode(.init(snapshots: [snapshot])) == nil)
        let bar = Components.Schemas.Bar(start: Self.date(0), startMs: 0, open: 1, high: .infinity, low: 1, close: 1, volume: 1)
        #expect(MarketDataJSON.encode(.init(ticker: "A", timespan: "minute", multiplier: 1, bars: [bar], source: .stream)) == nil)
    }
}

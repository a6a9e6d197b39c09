import AdminAPI
import Foundation
import HTTPTypes
import OpenAPIRuntime
import Synchronization

/// The JSON of the two market-data answers (snapshots, bars) written by hand from the generated
/// types: Foundation's `JSONEncoder` through their `Codable` conformances was 38–43 % of
/// xy-admin's CPU under `make bench-admin` (docs/benchmarks.md). The keys, the optional fields
/// left out when nil and the date format are those of the generated `CodingKeys` and
/// ``MillisecondDateTranscoder``; AdminTests decode what this writes back into the generated
/// types and compare.
enum MarketDataJSON {
    /// `{"snapshots":[…]}`, or nil when a number is not finite (the generated path then answers,
    /// as it did before, with the encoder's error).
    static func encode(_ list: Components.Schemas.SnapshotList) -> [UInt8]? {
        var writer = JSONBytes(capacity: 64 + list.snapshots.count * 160)
        writer.raw("{\"snapshots\":[")
        for (index, entry) in list.snapshots.enumerated() {
            if index > 0 { writer.byte(UInt8(ascii: ",")) }
            writer.raw("{\"ticker\":")
            writer.string(entry.ticker)
            writer.raw(entry.found ? ",\"found\":true" : ",\"found\":false")
            if let last = entry.last { guard writer.field("last", last) else { return nil } }
            if let change = entry.change { guard writer.field("change", change) else { return nil } }
            if let percent = entry.changePct { guard writer.field("change_pct", percent) else { return nil } }
            if let updatedAt = entry.updatedAt {
                writer.raw(",\"updated_at\":")
                writer.date(updatedAt)
            }
            if let source = entry.source {
                writer.raw(",\"source\":")
                writer.string(source.rawValue)
            }
            if let code = entry.code {
                writer.raw(",\"code\":")
                writer.string(code.rawValue)
            }
            if let message = entry.message {
                writer.raw(",\"message\":")
                writer.string(message)
            }
            writer.byte(UInt8(ascii: "}"))
        }
        writer.raw("]}")
        return writer.bytes
    }

    /// A page of bars, or nil when a number is not finite.
    static func encode(_ page: Components.Schemas.BarsPage) -> [UInt8]? {
        var writer = JSONBytes(capacity: 160 + page.bars.count * 190)
        writer.raw("{\"ticker\":")
        writer.string(page.ticker)
        writer.raw(",\"timespan\":")
        writer.string(page.timespan)
        writer.raw(",\"multiplier\":")
        writer.integer(Int64(page.multiplier))
        writer.raw(",\"bars\":[")
        for (index, bar) in page.bars.enumerated() {
            if index > 0 { writer.byte(UInt8(ascii: ",")) }
            writer.raw("{\"start\":")
            writer.date(bar.start)
            writer.raw(",\"start_ms\":")
            writer.integer(bar.startMs)
            guard writer.field("open", bar.open), writer.field("high", bar.high), writer.field("low", bar.low),
                writer.field("close", bar.close), writer.field("volume", bar.volume)
            else { return nil }
            if let vwap = bar.vwap { guard writer.field("vwap", vwap) else { return nil } }
            if let trades = bar.trades {
                writer.raw(",\"trades\":")
                writer.integer(trades)
            }
            writer.byte(UInt8(ascii: "}"))
        }
        writer.raw("],\"source\":")
        writer.string(page.source.rawValue)
        if let cursor = page.nextCursor {
            writer.raw(",\"next_cursor\":")
            writer.string(cursor)
        }
        writer.byte(UInt8(ascii: "}"))
        return writer.bytes
    }
}

/// A growing UTF-8 JSON text: the few value kinds the market-data answers hold.
struct JSONBytes {
    private(set) var bytes: [UInt8] = []
    /// The last date's day number and its (year, month, day).
    private var lastDay: (days: Int64, date: (Int64, Int64, Int64))?

    init(capacity: Int) { bytes.reserveCapacity(capacity) }

    mutating func byte(_ value: UInt8) { bytes.append(value) }

    /// Text that needs no escaping (our own keys and punctuation).
    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// A JSON string: `"` and `\` escaped, control characters as `\n`, `\t`… or `\u00XX`; the rest
    /// (valid UTF-8, as every Swift string is) as it is.
    mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for unit in text.utf8 {
            switch unit {
            case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\\")); bytes.append(unit)
            case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\")); bytes.append(unit)
            case 0x0A: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "n"))
            case 0x0D: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "r"))
            case 0x09: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "t"))
            case 0x08: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "b"))
            case 0x0C: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "f"))
            case 0x00..<0x20:
                let low = unit & 0x0F
                bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                bytes.append(UInt8(ascii: "0") + (unit >> 4))
                bytes.append(low < 10 ? UInt8(ascii: "0") + low : UInt8(ascii: "a") + low - 10)
            default: bytes.append(unit)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func integer(_ value: Int64) { fixedPoint(value, decimals: 0) }

    /// `,"key":number`; false (nothing written) for NaN or an infinity, which JSON cannot hold.
    mutating func field(_ key: StaticString, _ value: Double) -> Bool {
        guard value.isFinite else { return false }
        bytes.append(UInt8(ascii: ","))
        bytes.append(UInt8(ascii: "\""))
        raw(key)
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        number(value)
        return true
    }

    /// A finite Double as a text that reads back as the same Double. Prices mostly have a few
    /// decimals: when `value` is n / 10^k for an integer n below 2^53 and k ≤ 6, n is written
    /// with the point put in (n and 10^k are exact Doubles, so n / 10^k rounds, as a parser rounds
    /// that decimal, to `value`). Otherwise Swift's description, the shortest round-trip text, in
    /// JSON's number grammar for finite values ("1e-05", "1.5e+20"); the fast path was a third of
    /// a bars page's encoding time.
    mutating func number(_ value: Double) {
        var scale = 1.0
        for decimals in 0...6 {
            let scaled = (value * scale).rounded()
            if abs(scaled) < 9_007_199_254_740_992, scaled / scale == value {
                if value == 0, value.sign == .minus { break }  // -0.0: the description keeps the sign
                fixedPoint(Int64(scaled), decimals: decimals)
                return
            }
            scale *= 10
        }
        bytes.append(contentsOf: value.description.utf8)
    }

    /// `units` / 10^decimals in decimal, e.g. (-10125, 2) → "-101.25", (5, 3) → "0.005": written
    /// backwards into a buffer on the stack, then appended at once.
    private mutating func fixedPoint(_ units: Int64, decimals: Int) {
        var magnitude = units.magnitude
        var buffer: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)  // 32 bytes: sign, 19 digits, point
        withUnsafeMutableBytes(of: &buffer) { text in
            var start = text.count
            var written = 0
            repeat {
                if written == decimals, decimals > 0 {
                    start -= 1
                    text[start] = UInt8(ascii: ".")
                }
                start -= 1
                text[start] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: magnitude % 10)
                magnitude /= 10
                written += 1
            } while magnitude > 0 || written <= decimals
            if units < 0 {
                start -= 1
                text[start] = UInt8(ascii: "-")
            }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: text[start...]))
        }
    }

    /// `"YYYY-MM-DDTHH:MM:SS.mmmZ"`, the milliseconds rounded as ``MillisecondDateTranscoder`` does.
    mutating func date(_ date: Date) {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
        var days = milliseconds / 86_400_000
        var rest = milliseconds % 86_400_000
        if rest < 0 {
            rest += 86_400_000
            days -= 1
        }
        // A page's bars mostly share their day.
        if lastDay?.days != days { lastDay = (days, civil(days: days)) }
        let (year, month, day) = lastDay!.date
        var buffer: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &buffer) { text in
            /// `value` (0 ≤ value < 10^width) in `width` digits ending before `end`.
            func put(_ value: Int64, _ width: Int, endingAt end: Int) {
                var rest = value
                for index in stride(from: end - 1, through: end - width, by: -1) {
                    text[index] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: rest % 10)
                    rest /= 10
                }
            }
            // "YYYY-MM-DDTHH:MM:SS.mmmZ" between quotes: 26 bytes.
            text[0] = UInt8(ascii: "\"")
            text[5] = UInt8(ascii: "-")
            text[8] = UInt8(ascii: "-")
            text[11] = UInt8(ascii: "T")
            text[14] = UInt8(ascii: ":")
            text[17] = UInt8(ascii: ":")
            text[20] = UInt8(ascii: ".")
            text[24] = UInt8(ascii: "Z")
            text[25] = UInt8(ascii: "\"")
            put(month, 2, endingAt: 8)
            put(day, 2, endingAt: 11)
            put(rest / 3_600_000, 2, endingAt: 14)
            put(rest / 60_000 % 60, 2, endingAt: 17)
            put(rest / 1000 % 60, 2, endingAt: 20)
            put(rest % 1000, 3, endingAt: 24)
            guard (0...9999).contains(year) else {
                // Never market data: the transcoder itself overflows (nanoseconds in an Int64)
                // past the years 1677–2262. The year as it is, then the rest.
                bytes.append(UInt8(ascii: "\""))
                bytes.append(contentsOf: String(year).utf8)
                bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: text[5..<26]))
                return
            }
            put(year, 4, endingAt: 5)
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: text[0..<26]))
        }
    }

    /// Days since 1970-01-01 to a proleptic Gregorian (year, month, day) (Howard Hinnant's
    /// civil_from_days, as XYCore's ISO8601 uses).
    private func civil(days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

/// How the two market-data operations bypass the generated code's `JSONEncoder` while keeping its
/// routing and parameter validation: ``PreEncodedBodyMiddleware`` (an OpenAPI server middleware,
/// so it runs inside the generated operation) gives the handler a box; the handler writes the
/// answer's bytes with ``MarketDataJSON`` into it and returns a small placeholder of the same
/// generated type for the generated code to encode; the middleware then puts the box's bytes in
/// place of that body. Without a box (a handler called directly) the handler returns the full
/// generated value and nothing is bypassed.
final class PreEncodedBody: Sendable {
    private let stored = Mutex<[UInt8]?>(nil)

    @TaskLocal static var current: PreEncodedBody?

    /// Keeps the answer's bytes for the middleware.
    func set(_ bytes: [UInt8]) { stored.withLock { $0 = bytes } }

    /// The bytes a handler set, once.
    func take() -> [UInt8]? { stored.withLock { value in defer { value = nil }; return value } }
}

/// Swaps the placeholder body of `getSnapshots` and `getBars` for the handler's hand-encoded bytes
/// (``PreEncodedBody``); every other operation passes through untouched.
struct PreEncodedBodyMiddleware: ServerMiddleware {
    static let operations: Set<String> = ["getSnapshots", "getBars"]

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        guard Self.operations.contains(operationID) else { return try await next(request, body, metadata) }
        let box = PreEncodedBody()
        var (response, responseBody) = try await PreEncodedBody.$current.withValue(box) { try await next(request, body, metadata) }
        if let bytes = box.take() {
            // The transport writes Content-Length from the body's known length.
            response.headerFields[.contentLength] = nil
            responseBody = HTTPBody(bytes)
        }
        return (response, responseBody)
    }
}

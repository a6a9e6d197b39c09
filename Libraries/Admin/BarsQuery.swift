import Crypto
import Foundation
import OpenAPIRuntime
import XYCore

/// A bars request checked parameter by parameter, each mistake with its own code, and the page
/// it asks for: the bucket it starts at (from `from`, or from the cursor) and where it ends.
///
/// Buckets are `multiplier` minutes long and aligned to multiples of that length since the epoch;
/// the answer holds the buckets whose start lies in [from, to). A page spans at most `limit`
/// buckets and at most ``maximumPageMinutes`` minutes of 1-minute bars, so one request never
/// reads more than a week of the stream; `next_cursor` carries the next page's first bucket.
struct BarsQuery: Sendable, Hashable {
    var ticker: String
    var multiplier: Int
    var fromMilliseconds: Int64
    var toMilliseconds: Int64
    var limit: Int
    /// The first bucket of this page.
    var pageStartMilliseconds: Int64

    static let minuteMilliseconds: Int64 = 60_000
    /// A week of minutes: the most one page reads, whatever `limit` and `multiplier` say.
    static let maximumPageMinutes: Int64 = 7 * 24 * 60
    static let maximumLimit = 5000
    static let defaultLimit = 1000
    static let maximumMultiplier = 60

    /// One bucket in milliseconds.
    var stepMilliseconds: Int64 { Int64(multiplier) * Self.minuteMilliseconds }

    /// The first bucket whose start is at or after `from`.
    var firstBucketMilliseconds: Int64 { Self.ceiling(fromMilliseconds, to: stepMilliseconds) }

    /// The end of this page's last bucket: the page reads 1-minute bars in [pageStart, pageEnd).
    var pageEndMilliseconds: Int64 {
        let step = stepMilliseconds
        let remaining = (toMilliseconds - pageStartMilliseconds + step - 1) / step
        let perPage = min(Int64(limit), max(1, Self.maximumPageMinutes / Int64(multiplier)))
        return pageStartMilliseconds + min(remaining, perPage) * step
    }

    /// The cursor of the next page, nil on the last one.
    var nextCursor: String? {
        let end = pageEndMilliseconds
        guard end < toMilliseconds else { return nil }
        return Base64URL.encode(Array("\(end).\(fingerprint)".utf8))
    }

    /// Checks the raw parameters in the order the document lists them; the first mistake throws.
    static func parse(
        ticker: String?, timespan: String?, multiplier: String?, from: String?, to: String?, limit: String?, cursor: String?,
        maximumRangeMilliseconds: Int64
    ) throws(APIFailure) -> BarsQuery {
        guard let ticker, Ticker.isValid(ticker) else { throw AdminAPIHandler.invalidTicker }
        if let timespan, timespan != "minute" {
            throw APIFailure(.badRequest, .barsTimespan, "timespan must be minute (1-minute bars are what XY_BARS holds)")
        }
        var minutes = 1
        if let multiplier {
            guard let value = Int(multiplier), (1...maximumMultiplier).contains(value) else {
                throw APIFailure(.badRequest, .barsMultiplier, "multiplier must be an integer from 1 to \(maximumMultiplier)")
            }
            minutes = value
        }
        guard let fromText = from, let fromMilliseconds = UTCTime.milliseconds(fromText) else {
            throw APIFailure(.badRequest, .barsTime, "from must be a UTC ISO 8601 time (2026-01-02, 2026-01-02T03:04:05Z) or epoch milliseconds")
        }
        guard let toText = to, let toMilliseconds = UTCTime.milliseconds(toText) else {
            throw APIFailure(.badRequest, .barsTime, "to must be a UTC ISO 8601 time (2026-01-02, 2026-01-02T03:04:05Z) or epoch milliseconds")
        }
        guard fromMilliseconds < toMilliseconds else {
            throw APIFailure(.badRequest, .barsEmptyRange, "from must be before to")
        }
        guard toMilliseconds - fromMilliseconds <= maximumRangeMilliseconds else {
            throw APIFailure(.badRequest, .barsRangeTooLong, "the range is longer than \(maximumRangeMilliseconds / 3_600_000) hours (BARS_MAX_RANGE); ask for a shorter one")
        }
        var pageSize = defaultLimit
        if let limit {
            guard let value = Int(limit), (1...maximumLimit).contains(value) else {
                throw APIFailure(.badRequest, .barsLimit, "limit must be an integer from 1 to \(maximumLimit)")
            }
            pageSize = value
        }
        var query = BarsQuery(
            ticker: ticker, multiplier: minutes, fromMilliseconds: fromMilliseconds, toMilliseconds: toMilliseconds,
            limit: pageSize, pageStartMilliseconds: 0)
        query.pageStartMilliseconds = query.firstBucketMilliseconds
        if let cursor {
            query.pageStartMilliseconds = try query.position(of: cursor)
        }
        return query
    }

    /// The refusal the checks give a raw request target (`/api/v1/market-data/bars?…`), for a
    /// request the generated code could not read; nil when the checks pass (the range cap is not
    /// known here, so it is not checked).
    static func failure(rawTarget: String) -> APIFailure? {
        let items = URLComponents(string: rawTarget)?.queryItems ?? []
        func value(_ name: String) -> String? { items.last { $0.name == name }?.value }
        do {
            _ = try parse(
                ticker: value("ticker"), timespan: value("timespan"), multiplier: value("multiplier"), from: value("from"),
                to: value("to"), limit: value("limit"), cursor: value("cursor"), maximumRangeMilliseconds: .max)
            return nil
        } catch {
            return error
        }
    }

    /// The first bucket a cursor points at, if this API issued it for this very query.
    private func position(of cursor: String) throws(APIFailure) -> Int64 {
        let refused = APIFailure(.badRequest, .barsCursor, "cursor is not a next_cursor this API gave for this ticker, multiplier, from and to")
        guard cursor.utf8.count <= 256, let bytes = Base64URL.decode(cursor) else { throw refused }
        let parts = String(decoding: bytes, as: UTF8.self).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[1] == fingerprint, let start = Int64(parts[0]),
              start >= firstBucketMilliseconds, start < toMilliseconds, (start - firstBucketMilliseconds) % stepMilliseconds == 0
        else { throw refused }
        return start
    }

    /// Binds a cursor to the query it continues (not a secret: a forged cursor can only point
    /// at another page of the same query, which is checked anyway).
    private var fingerprint: String {
        let digest = SHA256.hash(data: Data("\(ticker)|minute|\(multiplier)|\(fromMilliseconds)|\(toMilliseconds)".utf8))
        return digest.prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// The smallest multiple of `step` at or above `value`.
    static func ceiling(_ value: Int64, to step: Int64) -> Int64 {
        let floor = value >= 0 ? value / step * step : -((-value + step - 1) / step * step)
        return floor == value ? value : floor + step
    }
}

/// The times the bars operation takes: epoch milliseconds, a UTC date (`2026-01-02`, its
/// midnight), or a date and time with `Z` or an offset (`2026-01-02T03:04:05.678Z`,
/// `2026-01-02T04:04+01:00`, read by XYCore's ``ISO8601``); a time without a zone is refused
/// rather than guessed.
enum UTCTime {
    /// Milliseconds since the epoch, nil when `text` is none of the accepted forms or before 1970.
    static func milliseconds(_ text: String) -> Int64? {
        let count = text.utf8.count
        guard count > 0, count <= 64 else { return nil }
        if text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
            return count <= 15 ? Int64(text) : nil
        }
        let value = ISO8601.date(text).map { $0.daysSinceEpoch * 86_400_000 } ?? ISO8601.milliseconds(text)
        return value.flatMap { $0 >= 0 ? $0 : nil }
    }

    /// The UTC date of `milliseconds` as `YYYYMMDD` (a subject token for the day's history).
    static func dayToken(milliseconds: Int64) -> String {
        let days = milliseconds / 86_400_000 - (milliseconds % 86_400_000 < 0 ? 1 : 0)
        let date = CivilDate(daysSinceEpoch: days)
        return date.description.replacingOccurrences(of: "-", with: "")
    }
}

/// The API's `date-time` values as UTC ISO 8601 with milliseconds, written without Foundation's
/// locked formatter (a page of 300 bars is 300 dates: the formatter was most of its cost), and
/// read with ``UTCTime`` (any offset, or a date alone).
struct MillisecondDateTranscoder: DateTranscoder {
    /// A text that is not one of ``UTCTime``'s forms.
    struct NotADate: Error, CustomStringConvertible {
        var text: String
        var description: String { "not a UTC ISO 8601 time: \(text)" }
    }

    /// Throws, instead of trapping on the conversion, for a date outside what nanoseconds since
    /// 1970 in 64 bits can hold (before 1677 or after 2262): such a date can only come from bad
    /// stored data, which must cost one answer, not the process.
    func encode(_ date: Date) throws -> String {
        let milliseconds = (date.timeIntervalSince1970 * 1000).rounded()
        guard milliseconds.isFinite, abs(milliseconds) < Double(Int64.max / 1_000_000) else {
            throw NotADate(text: "\(date.timeIntervalSince1970) s since 1970")
        }
        return ISO8601.string(nanoseconds: Int64(milliseconds) * 1_000_000)
    }

    func decode(_ text: String) throws -> Date {
        guard let milliseconds = UTCTime.milliseconds(text), !text.allSatisfy(\.isNumber) else { throw NotADate(text: text) }
        return Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}

/// UTC timestamps written with milliseconds (`2026-01-02T03:04:05.678Z`, the format of `ts` in log
/// lines and envelopes) and read in the RFC 3339 forms our peers send (nats-server's
/// `2024-05-01T12:00:00.123456789Z`, the bars API's `from`/`to`), without Foundation's formatter
/// (which is slow and not Sendable).
///
/// The date-time read is `YYYY-MM-DDThh:mm[:ss[.fraction]]` then `Z` or `±hh:mm`: seconds may be
/// left out, the fraction has any number of digits (those past nanoseconds are dropped), `T` and
/// `Z` may be lower case; a time without a zone is refused rather than guessed, and so is a leap
/// second (no peer of ours writes one).
public enum ISO8601 {
    public static func string(nanoseconds: Int64) -> String {
        let milliseconds = nanoseconds / 1_000_000
        var days = milliseconds / 86_400_000
        var rest = milliseconds % 86_400_000
        if rest < 0 {
            rest += 86_400_000
            days -= 1
        }
        let date = CivilDate(daysSinceEpoch: days)
        let hour = rest / 3_600_000
        let minute = rest / 60_000 % 60
        let second = rest / 1000 % 60
        let millis = rest % 1000
        return "\(date)T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2)).\(pad(millis, 3))Z"
    }

    /// A calendar date alone, `YYYY-MM-DD`; nil for any other text or a date that does not exist.
    public static func date(_ text: String) -> CivilDate? {
        let bytes = Array(text.utf8)
        guard bytes.count == 10 else { return nil }
        return date(bytes)
    }

    /// A date-time with its zone, as nanoseconds since the epoch; nil when `text` is not one, or
    /// when the instant does not fit (before 1677 or after 2262).
    public static func nanoseconds(_ text: String) -> Int64? {
        guard let (seconds, fraction) = instant(Array(text.utf8)) else { return nil }
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return nil }
        let (value, carry) = scaled.addingReportingOverflow(fraction)
        return carry ? nil : value
    }

    /// A date-time with its zone, as milliseconds since the epoch (the fraction past milliseconds
    /// dropped, toward the past); nil when `text` is not one.
    public static func milliseconds(_ text: String) -> Int64? {
        guard let (seconds, fraction) = instant(Array(text.utf8)) else { return nil }
        return seconds * 1000 + fraction / 1_000_000
    }

    /// Seconds since the epoch and the nanoseconds after them (0 to 999,999,999) of a date-time
    /// with its zone. Years have four digits, so the seconds never overflow.
    private static func instant(_ b: [UInt8]) -> (Int64, Int64)? {
        guard b.count >= 17, b.count <= 128, let date = date(b), b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t"),
              b[13] == UInt8(ascii: ":"), let hour = number(b, 11, 2), let minute = number(b, 14, 2), hour < 24, minute < 60
        else { return nil }
        var index = 16
        var second: Int64 = 0
        var fraction: Int64 = 0
        if b[index] == UInt8(ascii: ":") {
            guard let value = number(b, index + 1, 2), value < 60 else { return nil }
            second = value
            index += 3
            if index < b.count, b[index] == UInt8(ascii: ".") {
                index += 1
                var digits = 0
                while index < b.count, b[index] >= UInt8(ascii: "0"), b[index] <= UInt8(ascii: "9") {
                    if digits < 9 { fraction = fraction * 10 + Int64(b[index] - UInt8(ascii: "0")) }
                    digits += 1
                    index += 1
                }
                guard digits > 0 else { return nil }
                for _ in min(digits, 9)..<9 { fraction *= 10 }
            }
        }
        guard index < b.count else { return nil }
        var offsetMinutes: Int64 = 0
        switch b[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            guard index + 1 == b.count else { return nil }
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard index + 6 == b.count, b[index + 3] == UInt8(ascii: ":"),
                  let h = number(b, index + 1, 2), let m = number(b, index + 4, 2), h < 24, m < 60
            else { return nil }
            offsetMinutes = (h * 60 + m) * (b[index] == UInt8(ascii: "+") ? 1 : -1)
        default:
            return nil
        }
        let seconds = date.daysSinceEpoch * 86_400 + (hour * 60 + minute - offsetMinutes) * 60 + second
        return (seconds, fraction)
    }

    /// The `YYYY-MM-DD` that starts `b`, if it is a date that exists.
    private static func date(_ b: [UInt8]) -> CivilDate? {
        guard b.count >= 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
              let year = number(b, 0, 4), let month = number(b, 5, 2), let day = number(b, 8, 2)
        else { return nil }
        return CivilDate(year: year, month: month, day: day)
    }

    /// The decimal number of exactly `count` ASCII digits at `start`.
    private static func number(_ b: [UInt8], _ start: Int, _ count: Int) -> Int64? {
        guard start + count <= b.count else { return nil }
        var value: Int64 = 0
        for byte in b[start..<start + count] {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        return value
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        CivilDate.pad(value, width)
    }
}

import Foundation
import Testing
import XYCore

@Suite("Civil dates and ISO 8601 reading")
struct CivilDateTests {
    @Test("days from 1970 and back agree with Foundation's Gregorian calendar, 1600 to 2400")
    func againstFoundation() throws {
        var gregorian = Calendar(identifier: .gregorian)
        gregorian.timeZone = try #require(TimeZone(identifier: "UTC"))
        var days: Int64 = -135_140  // 1600-01-01
        while days < 157_800 {  // past 2400-01-01
            let parts = gregorian.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: Double(days) * 86_400))
            let date = CivilDate(daysSinceEpoch: days)
            #expect(
                date.year == Int64(parts.year!) && date.month == Int64(parts.month!) && date.day == Int64(parts.day!),
                "day \(days) is \(date)")
            #expect(date.daysSinceEpoch == days)
            days += 13
        }
    }

    @Test("leap years (every fourth, not centuries, but every fourth century), month lengths, impossible dates refused")
    func leapYears() {
        #expect(CivilDate.isLeapYear(2024) && CivilDate.isLeapYear(2000) && CivilDate.isLeapYear(1600))
        #expect(!CivilDate.isLeapYear(2023) && !CivilDate.isLeapYear(1900) && !CivilDate.isLeapYear(2100))
        #expect(CivilDate.daysIn(month: 2, year: 2024) == 29 && CivilDate.daysIn(month: 2, year: 1900) == 28)
        #expect(CivilDate.daysIn(month: 4, year: 2025) == 30 && CivilDate.daysIn(month: 12, year: 2025) == 31)
        #expect(CivilDate(year: 2024, month: 2, day: 29)?.daysSinceEpoch == 19_782)
        #expect(CivilDate(year: 2023, month: 2, day: 29) == nil)
        #expect(CivilDate(year: 2023, month: 4, day: 31) == nil)
        #expect(CivilDate(year: 2023, month: 13, day: 1) == nil)
        #expect(CivilDate(year: 2023, month: 1, day: 0) == nil)
        #expect(CivilDate.days(year: 1970, month: 1, day: 1) == 0)
        #expect(CivilDate.days(year: 1969, month: 12, day: 31) == -1)
        #expect(CivilDate.days(year: 2026, month: 2, day: 29) == CivilDate.days(year: 2026, month: 3, day: 1), "unchecked: counts on")
        #expect(CivilDate(daysSinceEpoch: -719_162).description == "0001-01-01")
        #expect(CivilDate(year: 2026, month: 3, day: 6)! < CivilDate(year: 2026, month: 12, day: 1)!)
    }

    @Test("a date alone: exactly YYYY-MM-DD of a date that exists")
    func dateAlone() {
        #expect(ISO8601.date("2026-01-02") == CivilDate(year: 2026, month: 1, day: 2))
        #expect(ISO8601.date("1969-07-20")?.daysSinceEpoch == -165)
        #expect(ISO8601.date("2024-02-29")?.daysSinceEpoch == 19_782)
        #expect(ISO8601.date("2023-02-29") == nil)
        #expect(ISO8601.date("2026-1-02") == nil)
        #expect(ISO8601.date("2026-01-02T00:00Z") == nil)
        #expect(ISO8601.date("2026/01/02") == nil)
        #expect(ISO8601.date("") == nil)
    }

    @Test("nats-server's store times: nanoseconds, shorter fractions, offsets; garbage refused")
    func nanoseconds() {
        #expect(ISO8601.nanoseconds("1970-01-01T00:00:00Z") == 0)
        #expect(ISO8601.nanoseconds("2023-11-14T22:13:20.123456789Z") == 1_700_000_000_123_456_789)
        #expect(ISO8601.nanoseconds("2023-11-14T22:13:20.5Z") == 1_700_000_000_500_000_000)
        #expect(ISO8601.nanoseconds("2023-11-15T00:13:20.5+02:00") == 1_700_000_000_500_000_000)
        #expect(ISO8601.nanoseconds("2023-11-14t22:13:20.5z") == 1_700_000_000_500_000_000)
        #expect(ISO8601.nanoseconds("2024-02-29T12:00:00.1234567891Z") == 1_709_208_000_123_456_789, "past nanoseconds dropped")
        #expect(ISO8601.nanoseconds("1969-12-31T23:59:59.5Z") == -500_000_000)
        #expect(ISO8601.nanoseconds("1900-01-01T00:00:00Z") == -2_208_988_800_000_000_000)
        #expect(ISO8601.nanoseconds("2300-01-01T00:00:00Z") == nil, "past Int64 nanoseconds: nil, not a trap")
        #expect(ISO8601.nanoseconds("1600-01-01T00:00:00Z") == nil)
        #expect(ISO8601.nanoseconds("2023-11-14T22:13:20") == nil, "no zone")
        #expect(ISO8601.nanoseconds("2023-13-14T22:13:20Z") == nil)
        #expect(ISO8601.nanoseconds("2023-02-30T22:13:20Z") == nil)
        #expect(ISO8601.nanoseconds("2023-11-14T22:13:60Z") == nil, "no leap seconds")
        #expect(ISO8601.nanoseconds("2023-11-14T24:00:00Z") == nil)
        #expect(ISO8601.nanoseconds("2023-11-14 22:13:20Z") == nil)
        #expect(ISO8601.nanoseconds("2023-11-14T22:13:20.Z") == nil)
        #expect(ISO8601.nanoseconds("2023-11-14T22:13:20Zjunk") == nil)
        #expect(ISO8601.nanoseconds("2023-11-14T22:13:20+0200") == nil)
        #expect(ISO8601.nanoseconds("2023-11-14T22:13:20+24:00") == nil)
        #expect(ISO8601.nanoseconds("not a time") == nil)
    }

    @Test("the bars API's date-times: milliseconds, seconds optional, any offset, before 1970 floored")
    func milliseconds() {
        #expect(ISO8601.milliseconds("2026-01-02T03:04:05.678Z") == 1_767_323_045_678)
        #expect(ISO8601.milliseconds("2026-01-02T03:04:05.6789Z") == 1_767_323_045_678)
        #expect(ISO8601.milliseconds("2026-01-02T03:04Z") == 1_767_323_040_000)
        #expect(ISO8601.milliseconds("2026-01-02T04:04+01:00") == 1_767_323_040_000)
        #expect(ISO8601.milliseconds("2026-01-01T22:04-05:00") == 1_767_323_040_000)
        #expect(ISO8601.milliseconds("1969-12-31T23:59:59.9995Z") == -1, "floored toward the past")
        #expect(ISO8601.milliseconds("2300-01-01T00:00:00Z") == 10_413_792_000_000)
        #expect(ISO8601.milliseconds("2026-01-02") == nil, "a date alone is ISO8601.date")
        #expect(ISO8601.milliseconds("2026-01-02T03Z") == nil)
        #expect(ISO8601.milliseconds("2026-01-02T03:04:05.678") == nil)
    }
}

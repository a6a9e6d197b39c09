import Foundation
import MarketData
import Testing
import XYCore

@Suite("Trading day")
struct TradingDayTests {
    /// Unix nanoseconds of a UTC second.
    private func ns(_ seconds: Int64) -> Int64 { seconds * 1_000_000_000 }

    @Test("US/Eastern offsets switch at 02:00 local on the second Sunday of March and the first of November")
    func offsets() {
        #expect(TradingCalendar.easternOffsetSeconds(utcSeconds: 1_772_953_199) == -5 * 3600)  // 2026-03-08 01:59:59 EST
        #expect(TradingCalendar.easternOffsetSeconds(utcSeconds: 1_772_953_200) == -4 * 3600)  // 03:00 EDT
        #expect(TradingCalendar.easternOffsetSeconds(utcSeconds: 1_793_512_799) == -4 * 3600)  // 2026-11-01 01:59:59 EDT
        #expect(TradingCalendar.easternOffsetSeconds(utcSeconds: 1_793_512_800) == -5 * 3600)  // 01:00 EST again
    }

    @Test("a trading day begins at 04:00 US/Eastern, in standard and daylight time and across New Year")
    func days() {
        let calendar = TradingCalendar()
        let cases: [(utcSeconds: Int64, day: Int64)] = [
            (1_772_805_600, 20518),  // 2026-03-06 09:00 EST
            (1_768_467_599, 20467),  // 2026-01-15 03:59:59 EST: still the 14th's session
            (1_768_467_600, 20468),  // 04:00 EST: the 15th
            (1_782_892_799, 20634),  // 2026-07-01 03:59:59 EDT: June 30th's session
            (1_782_892_800, 20635),  // 04:00 EDT: July 1st
            (1_798_772_400, 20818),  // 2027-01-01 03:00 UTC is 2026-12-31 22:00 EST
            (1_798_794_000, 20819),  // 2027-01-01 04:00 EST
        ]
        for (seconds, day) in cases {
            #expect(calendar.tradingDay(atNs: ns(seconds)) == day, "at \(seconds)")
        }
        #expect(CivilDate.days(year: 2026, month: 3, day: 6) == 20518)
        #expect(CivilDate.days(year: 1970, month: 1, day: 1) == 0)
        #expect(TradingCalendar(dayStartSeconds: 0).tradingDay(atNs: ns(1_768_467_599)) == 20468, "from midnight instead")
        #expect(calendar.tradingDay(atNs: -1) == -1, "before the epoch: floored, not truncated")
    }

    @Test("every half hour of 2024 to 2027 agrees with the tz database's America/New_York")
    func againstTimeZoneDatabase() throws {
        let zone = try #require(TimeZone(identifier: "America/New_York"))
        let calendar = TradingCalendar()
        var gregorian = Calendar(identifier: .gregorian)
        gregorian.timeZone = TimeZone(identifier: "UTC")!
        var seconds: Int64 = 1_704_067_200  // 2024-01-01 00:00 UTC
        while seconds < 1_830_297_600 {  // 2028-01-01
            let offset = Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(seconds))))
            #expect(TradingCalendar.easternOffsetSeconds(utcSeconds: seconds) == offset, "at \(seconds)")
            let shifted = Date(timeIntervalSince1970: TimeInterval(seconds + offset - 4 * 3600))
            let parts = gregorian.dateComponents([.year, .month, .day], from: shifted)
            let expected = CivilDate.days(year: Int64(parts.year!), month: Int64(parts.month!), day: Int64(parts.day!))
            #expect(calendar.tradingDay(atNs: ns(seconds)) == expected, "at \(seconds)")
            seconds += 1800
        }
    }

    @Test("a restored state rolls over once at the first reading of a later day; an empty one only takes the day")
    func roll() {
        let yesterday = ns(1_768_467_599)  // the 14th's session
        var roll = DayRoll(newestEventNs: yesterday)
        #expect(roll.day == 20467)
        // Each reading in order, with whether it must roll the day.
        let readings: [(ns: Int64, rolls: Bool, why: String)] = [
            (yesterday + 1, false, "still the 14th's session"),
            (ns(1_768_467_600), true, "04:00 on the 15th"),
            (ns(1_768_467_601), false, "once per boundary"),
            (yesterday, false, "a clock stepping back rolls nothing"),
            (ns(1_768_467_600 + 3 * 86_400), true, "several days at once: one roll"),
            (ns(1_768_467_600 + 3 * 86_400 + 60), false, "and not again"),
        ]
        for reading in readings {
            let rolled = roll.advance(toNs: reading.ns)
            #expect(rolled == reading.rolls, "\(reading.why)")
        }
        #expect(roll.day == 20471)

        var empty = DayRoll(newestEventNs: 0)
        #expect(empty.day == nil)
        let rolled = empty.advance(toNs: ns(1_768_467_600))
        #expect(!rolled)
        #expect(empty.day == 20468)
    }

    @Test("rolling a state's day resets volume and range, and the last price becomes the previous close")
    func rollState() throws {
        var state = MarketState()
        let evening = ns(1_768_467_599) - 3_600_000_000_000  // 02:59:59 EST on the 15th: the 14th's session
        _ = state.apply(Events.trade("AAPL", price: 100, size: 10, timeNs: evening))
        _ = state.apply(Events.trade("AAPL", price: 110, size: 5, timeNs: evening + 1))
        #expect(state.newestEventNs == evening + 1)
        var roll = DayRoll(newestEventNs: state.newestEventNs)
        if roll.advance(toNs: ns(1_768_467_600)) { state.startNewDay() }
        let aapl = try #require(state["AAPL"])
        #expect(aapl.volume == 0 && aapl.open == 0 && aapl.previousClose == 110)
        #expect(MarketState().newestEventNs == 0)
    }
}

import Foundation
import Testing
import XYCore

@Suite("Clocks")
struct ClockTests {
    @Test("the wall clock is Unix time in nanoseconds")
    func wallClock() {
        let before = Int64(Date().timeIntervalSince1970 * 1e9)
        let now = wallClockNanoseconds()
        let after = Int64(Date().timeIntervalSince1970 * 1e9)
        // Date has microsecond resolution: allow that much either side.
        #expect(now >= before - 1_000 && now <= after + 1_000)
    }

    @Test("the monotonic clock never goes back and measures elapsed time")
    func monotonic() {
        var last = monotonicNanoseconds()
        for _ in 0..<10_000 {
            let next = monotonicNanoseconds()
            #expect(next >= last)
            last = next
        }
        let start = monotonicNanoseconds()
        let continuous = ContinuousClock.now
        while ContinuousClock.now - continuous < .milliseconds(2) {}
        #expect(monotonicNanoseconds() - start >= 2_000_000)
    }

    @Test("timestamps are UTC ISO 8601 with milliseconds, before 1970 and on leap days too")
    func timestamps() {
        #expect(ISO8601.string(nanoseconds: 0) == "1970-01-01T00:00:00.000Z")
        #expect(ISO8601.string(nanoseconds: 1_700_000_000_123_000_000) == "2023-11-14T22:13:20.123Z")
        #expect(ISO8601.string(nanoseconds: 951_782_400_000_000_000) == "2000-02-29T00:00:00.000Z")
        #expect(ISO8601.string(nanoseconds: -1_000_000) == "1969-12-31T23:59:59.999Z")
    }
}

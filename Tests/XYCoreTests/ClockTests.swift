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
}

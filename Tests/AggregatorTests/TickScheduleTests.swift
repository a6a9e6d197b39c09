@testable import Aggregator
import Testing

@Suite struct TickScheduleTests {
    @Test func deadlinesAreAbsoluteSoWorkDoesNotAddDrift() {
        var schedule = TickSchedule(startNs: 1_000, intervalNs: 33)
        #expect(schedule.advance(nowNs: 1_000) == 1_033)
        // Each tick fires a little late and takes a while; the next deadline stays on the grid.
        #expect(schedule.advance(nowNs: 1_040) == 1_066)
        #expect(schedule.advance(nowNs: 1_090) == 1_099)
        #expect(schedule.advance(nowNs: 1_099) == 1_132)
        #expect(schedule.skipped == 0)
        let ticks = (0..<1000).map { _ in schedule.advance(nowNs: schedule.deadlineNs + 5) }
        #expect(ticks.last == 1_000 + 1004 * 33)
    }

    @Test func aLateTickSkipsMissedDeadlinesInsteadOfBursting() {
        var schedule = TickSchedule(startNs: 0, intervalNs: 10)
        #expect(schedule.advance(nowNs: 5) == 10)
        // The loop was stuck for 47 ns: deadlines 20, 30, 40, 50 are gone; next is 60.
        #expect(schedule.advance(nowNs: 57) == 60)
        #expect(schedule.skipped == 4)
        #expect(schedule.advance(nowNs: 60) == 70)
    }
}

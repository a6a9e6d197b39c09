/// Deadlines `start + n × interval` on a monotonic clock: the cadence does not drift with the
/// time each tick's work takes, and a tick that comes late (a busy machine) is not made up by a
/// burst; the schedule skips to the next deadline still in the future.
struct TickSchedule: Sendable, Hashable {
    /// Monotonic nanoseconds of deadline 0.
    let startNs: UInt64
    let intervalNs: UInt64
    /// The index of the current deadline.
    private(set) var index: UInt64 = 0
    /// Deadlines that passed without a tick (counted, not replayed).
    private(set) var skipped: UInt64 = 0

    init(startNs: UInt64, intervalNs: UInt64) {
        precondition(intervalNs > 0, "a tick interval must be positive")
        self.startNs = startNs
        self.intervalNs = intervalNs
    }

    /// The current deadline.
    var deadlineNs: UInt64 { startNs + index * intervalNs }

    /// Moves to the first deadline after `nowNs` and returns it.
    mutating func advance(nowNs: UInt64) -> UInt64 {
        let next = index + 1
        if startNs + next * intervalNs > nowNs {
            index = next
        } else {
            let due = (nowNs - startNs) / intervalNs + 1
            skipped += due - next
            index = due
        }
        return deadlineNs
    }
}

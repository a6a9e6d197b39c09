import NIOConcurrencyHelpers
import NIOCore

/// At most one log line per interval for events a client can cause thousands of times a
/// second (deadline closes, cap refusals): each one logged would turn an attack on the
/// descriptors into one on the disk. The lines left out are counted into the next one.
final class LogThrottle: Sendable {
    private struct State {
        var next: NIODeadline
        var suppressed: Int
    }

    private let interval: TimeAmount
    private let state = NIOLockedValueBox(State(next: .uptimeNanoseconds(0), suppressed: 0))

    init(interval: TimeAmount = .seconds(1)) {
        self.interval = interval
    }

    /// nil when this event should not be logged; otherwise how many were left out since the
    /// last line.
    func admit(now: NIODeadline = .now()) -> Int? {
        state.withLockedValue { state in
            guard now >= state.next else {
                state.suppressed += 1
                return nil
            }
            let suppressed = state.suppressed
            state.next = now + interval
            state.suppressed = 0
            return suppressed
        }
    }
}

import NIOConcurrencyHelpers

/// A clock the test moves by hand, so rate limits and refresh intervals are tested without sleeping.
final class ManualClock: Sendable {
    private let current = NIOLockedValueBox(ContinuousClock.now)

    var now: @Sendable () -> ContinuousClock.Instant {
        { [current] in current.withLockedValue { $0 } }
    }

    func advance(by duration: Duration) {
        current.withLockedValue { $0 = $0.advanced(by: duration) }
    }
}

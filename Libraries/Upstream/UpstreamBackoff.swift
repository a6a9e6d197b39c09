/// Reconnect delays: exponential from `initial`, doubled per failed attempt, capped at `maximum`,
/// with "equal jitter" (half fixed, half random) so a fleet of proxies does not reconnect in step.
public struct UpstreamBackoff: Sendable, Hashable {
    public var initial: Duration
    public var maximum: Duration
    public private(set) var attempt = 0

    public init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The delay before the next attempt; `random` is in [0, 1).
    public mutating func next(random: Double) -> Duration {
        let exponent = min(attempt, 30)
        attempt += 1
        let base = min(maximum, initial * (1 << exponent))
        return base / 2 + base / 2 * max(0, min(1, random))
    }

    /// A connection worked: start again from `initial`.
    public mutating func reset() {
        attempt = 0
    }
}

/// Delays between retries: `initial`, multiplied by `multiplier` per failed attempt up to `cap`,
/// then spread by a ``Jitter`` policy so a fleet of clients that lost the same server does not
/// come back in step.
///
/// A value with no state: the caller counts attempts and passes the randomness in, so a state
/// machine stays a pure function and tests pass a seeded generator (or a fixed fraction).
/// Its browser twin is `Web/xy-backoff.js` (the same parameters and jitter modes, in ms); both
/// run the vectors of `Tests/Fixtures/backoff-vectors.json`.
///
/// ```swift
/// // A reconnect wait doubling from 250 ms up to 30 s, spread ±10 %.
/// let backoff = Backoff(initial: .milliseconds(250), cap: .seconds(30), jitter: .proportional(0.1))
/// var random = SystemRandomNumberGenerator()
/// let wait = TimeAmount(backoff.delay(attempt: failures, using: &random))  // NIO's TimeAmount(_: Duration)
/// ```
public struct Backoff: Sendable, Hashable {
    /// How the ceiling of an attempt is turned into the delay actually waited.
    public enum Jitter: Sendable, Hashable {
        /// Exactly the ceiling (tests, or a single client).
        case none
        /// Uniform in [0, ceiling): spreads the most, but may retry at once.
        case full
        /// Half the ceiling for sure plus a uniform half: never sooner than half, still spread.
        case equal
        /// The ceiling times a uniform factor in [1 - fraction, 1 + fraction] (fraction clamped to
        /// 0...1), as the NATS client's `reconnectJitter` does; may exceed `cap` by that fraction.
        case proportional(Double)
    }

    /// The ceiling of attempt 0, the first retry.
    public var initial: Duration
    /// The largest ceiling: growth stops here.
    public var cap: Duration
    /// Growth of the ceiling per attempt; values below 1 count as 1 (no growth).
    public var multiplier: Double
    public var jitter: Jitter

    public init(initial: Duration, cap: Duration, multiplier: Double = 2, jitter: Jitter = .equal) {
        self.initial = initial
        self.cap = cap
        self.multiplier = multiplier
        self.jitter = jitter
    }

    /// The delay before retry number `attempt` (0 for the first retry), drawing at most one
    /// random number from `generator`.
    public func delay(attempt: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        switch jitter {
        case .none:
            return ceiling(attempt: attempt)
        case .full, .equal, .proportional:
            return delay(attempt: attempt, unitRandom: Double.random(in: 0..<1, using: &generator))
        }
    }

    /// The delay before retry number `attempt`, with the random draw given as a fraction in
    /// [0, 1) (clamped): for callers that already hold one number for several decisions.
    public func delay(attempt: Int, unitRandom: Double) -> Duration {
        let base = ceiling(attempt: attempt)
        let random = unitRandom.isNaN ? 0 : max(0, min(1, unitRandom))
        switch jitter {
        case .none:
            return base
        case .full:
            return base * random
        case .equal:
            return base / 2 + base / 2 * random
        case .proportional(let fraction):
            let spread = fraction.isNaN ? 0 : max(0, min(1, fraction))
            return base * (1 + spread * (2 * random - 1))
        }
    }

    /// The delay before jitter: `initial × multiplier^attempt`, at most `cap` (and never negative).
    public func ceiling(attempt: Int) -> Duration {
        let floor = max(.zero, min(initial, cap))
        guard attempt > 0, initial > .zero, cap > initial else { return floor }
        let factor = Double.wholePower(max(1, multiplier), attempt)
        // Compared as a ratio so huge attempts saturate at `cap` instead of overflowing Duration.
        guard factor.isFinite, factor < cap / initial else { return cap }
        return initial * factor
    }
}

extension Double {
    /// `base` to a non-negative whole power, by squaring (no libm needed).
    fileprivate static func wholePower(_ base: Double, _ exponent: Int) -> Double {
        var result = 1.0
        var square = base
        var rest = exponent
        while rest > 0, result.isFinite {
            if rest & 1 == 1 { result *= square }
            square *= square
            rest >>= 1
        }
        return result
    }
}

import NIOConcurrencyHelpers
import XYCore

/// Whether a service can do its work, as the sum of named conditions (`nats`, `upstream`, …):
/// ready only when every condition is met. `/healthz` and the heartbeat both read it.
///
/// A lock-protected class, not an actor, so an event-loop callback can flip a condition without a hop.
public final class ReadinessState: Sendable {
    /// One condition that is not met, with the reason shown in `/healthz`.
    public struct Problem: Sendable, Hashable {
        public var condition: String
        public var reason: String
        public var code: XYErrorCode
    }

    private struct State {
        var problems: [String: Problem] = [:]
        var details: [String: String] = [:]
        var stopping = false
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    /// Declares a condition unmet from the start (for example `nats` until the first connect).
    public func markNotReady(_ condition: String, reason: String, code: XYErrorCode) {
        state.withLockedValue { $0.problems[condition] = Problem(condition: condition, reason: reason, code: code) }
    }

    public func markReady(_ condition: String) {
        _ = state.withLockedValue { $0.problems.removeValue(forKey: condition) }
    }

    /// A free-form fact for the heartbeat's `details` and the `/healthz` body (`"upstream": "connected"`).
    public func setDetail(_ key: String, _ value: String) {
        state.withLockedValue { $0.details[key] = value }
    }

    /// The service is shutting down: no longer ready, whatever else holds.
    public func markStopping() {
        state.withLockedValue { $0.stopping = true }
    }

    public var isReady: Bool { state.withLockedValue { $0.problems.isEmpty && !$0.stopping } }

    public var isStopping: Bool { state.withLockedValue { $0.stopping } }

    /// Unmet conditions, sorted by name.
    public var problems: [Problem] {
        state.withLockedValue { $0.problems.values.sorted { $0.condition < $1.condition } }
    }

    public var details: [String: String] { state.withLockedValue { $0.details } }
}

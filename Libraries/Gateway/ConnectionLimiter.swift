import NIOConcurrencyHelpers

/// Open connections per client address and per token subject, across every event loop, so one
/// client (or one leaked token) cannot hold the file descriptors every other client needs
/// (XYW006). Each connection holds its counts through one ``ConnectionAdmission``, which gives
/// them back when the channel closes.
final class ConnectionLimiter: Sendable {
    /// What a cap counts.
    enum Scope: String, Sendable {
        case address
        case subject
    }

    private struct Key: Hashable {
        let scope: Scope
        let value: String
    }

    /// Caps; 0 counts nothing and refuses nothing.
    let maxPerAddress: Int
    let maxPerSubject: Int
    private let counts = NIOLockedValueBox<[Key: Int]>([:])

    init(maxPerAddress: Int, maxPerSubject: Int) {
        self.maxPerAddress = maxPerAddress
        self.maxPerSubject = maxPerSubject
    }

    /// Counts one more connection under `value`, or answers false (and counts nothing) when the
    /// cap is reached.
    func acquire(_ scope: Scope, _ value: String) -> Bool {
        let cap = self.cap(scope)
        guard cap > 0 else { return true }
        return counts.withLockedValue { counts in
            let key = Key(scope: scope, value: value)
            let current = counts[key, default: 0]
            guard current < cap else { return false }
            counts[key] = current + 1
            return true
        }
    }

    /// Whether `scope` is capped at all (an uncapped scope counts nothing).
    func counts(_ scope: Scope) -> Bool {
        cap(scope) > 0
    }

    /// Gives back one count taken by ``acquire(_:_:)``.
    func release(_ scope: Scope, _ value: String) {
        guard cap(scope) > 0 else { return }
        counts.withLockedValue { counts in
            let key = Key(scope: scope, value: value)
            let current = counts[key, default: 0]
            if current <= 1 {
                counts[key] = nil
            } else {
                counts[key] = current - 1
            }
        }
    }

    /// Connections counted under `value` now.
    func count(_ scope: Scope, _ value: String) -> Int {
        counts.withLockedValue { $0[Key(scope: scope, value: value), default: 0] }
    }

    /// Keys with a count: a drained gateway has none, which tests check to prove every close
    /// path gave its counts back.
    var trackedKeys: Int {
        counts.withLockedValue { $0.count }
    }

    /// The cap of `scope` (0: uncapped), which a refusal names.
    func cap(_ scope: Scope) -> Int {
        switch scope {
        case .address: maxPerAddress
        case .subject: maxPerSubject
        }
    }
}

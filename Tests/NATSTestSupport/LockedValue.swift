import Foundation

/// A value behind a lock, for the mutable state of `Sendable` classes and for test collectors
/// fed from event-loop callbacks.
/// (`Synchronization.Mutex` would need macOS 15; the package targets macOS 14.)
public final class LockedValue<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) {
        self.value = value
    }

    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }

    /// A copy of the value now.
    public var current: Value { withLock { $0 } }
}

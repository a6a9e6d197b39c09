import Foundation

/// A value behind a lock, for the mutable state of `Sendable` classes.
/// (`Synchronization.Mutex` would need macOS 15; the package targets macOS 14.)
final class LockedValue<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

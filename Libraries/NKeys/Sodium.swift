import CSodium

/// libsodium's one-time set-up, run lazily and exactly once (Swift `static let` is `swift_once`),
/// plus pointer helpers for its prototypes, which take non-null pointers whatever the length.
enum Sodium {
    private static let initialized: Bool = sodium_init() >= 0

    /// Makes sure `sodium_init()` has run; call before any libsodium function.
    static func ensureInitialized() {
        precondition(initialized, "libsodium could not be initialised")
    }

    /// `count` bytes from libsodium's CSPRNG.
    static func randomBytes(_ count: Int) -> [UInt8] {
        ensureInitialized()
        return withOutput(count: count) { randombytes_buf($0, count) }
    }

    /// Overwrites `bytes` with zeros (best effort: copies Swift made earlier are out of reach).
    static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { buffer in
            if let base = buffer.baseAddress { sodium_memzero(base, buffer.count) }
        }
    }

    /// Runs `body` with a non-nil pointer to `bytes`, even when `bytes` is empty.
    static func withInput<R>(_ bytes: [UInt8], _ body: (UnsafePointer<UInt8>) -> R) -> R {
        bytes.withUnsafeBufferPointer { buffer in
            if let base = buffer.baseAddress { return body(base) }
            let zero: UInt8 = 0
            return withUnsafePointer(to: zero) { body($0) }
        }
    }

    /// Runs `body` with a zeroed, non-nil buffer of `count` bytes and returns what it wrote.
    static func withOutput(count: Int, _ body: (UnsafeMutablePointer<UInt8>) -> Void) -> [UInt8] {
        let pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
        defer { pointer.deallocate() }
        body(pointer)
        return Array(UnsafeBufferPointer(start: pointer, count: count))
    }
}

import CSodium

/// Argon2id password hashing through libsodium's `crypto_pwhash_str`, whose output string carries
/// its own salt and cost parameters, and whose verification compares in constant time.
public struct PasswordHasher: Sendable {
    /// Passes over memory (`crypto_pwhash_OPSLIMIT_*`).
    public var operations: Int
    /// Bytes of memory per hash (`crypto_pwhash_MEMLIMIT_*`).
    public var memoryBytes: Int
    /// A hash of a random password with the same parameters: verified against when the username is
    /// unknown, so an unknown user costs the same time as a wrong password.
    private let decoyHash: String

    /// libsodium's interactive limits: 2 passes, 64 MiB.
    public static let interactiveOperations = Int(crypto_pwhash_opslimit_interactive())
    public static let interactiveMemoryBytes = Int(crypto_pwhash_memlimit_interactive())
    /// The smallest parameters libsodium accepts (tests only).
    public static let minimumOperations = Int(crypto_pwhash_opslimit_min())
    public static let minimumMemoryBytes = Int(crypto_pwhash_memlimit_min())

    /// Fails only when libsodium cannot start or refuses the parameters.
    public init(operations: Int, memoryBytes: Int) throws(PasswordHasherError) {
        guard sodium_init() >= 0 else { throw PasswordHasherError(message: "libsodium failed to initialise") }
        self.operations = operations
        self.memoryBytes = memoryBytes
        var randomBytes = [UInt8](repeating: 0, count: 32)
        randombytes_buf(&randomBytes, randomBytes.count)
        let decoy = String(decoding: randomBytes.map { UInt8(ascii: "a") + $0 % 26 }, as: UTF8.self)
        guard let decoyHash = Self.hash(decoy, operations: operations, memoryBytes: memoryBytes) else {
            throw PasswordHasherError(message: "crypto_pwhash_str refused \(operations) passes over \(memoryBytes) bytes")
        }
        self.decoyHash = decoyHash
    }

    /// The `$argon2id$…` string to store; nil only when memory runs out.
    public func hash(_ password: String) -> String? {
        Self.hash(password, operations: operations, memoryBytes: memoryBytes)
    }

    /// Whether `password` matches `storedHash`; with nil (unknown user) it checks against the decoy
    /// and answers false, taking the same time as a wrong password.
    public func verify(_ password: String, against storedHash: String?) -> Bool {
        let matches = Self.verify(password, storedHash ?? decoyHash)
        return storedHash != nil && matches
    }

    private static func hash(_ password: String, operations: Int, memoryBytes: Int) -> String? {
        var output = [CChar](repeating: 0, count: crypto_pwhash_strbytes())
        // NUL-terminated for the pointer; the length given excludes the terminator.
        let chars = Array(password.utf8CString)
        let status = chars.withUnsafeBufferPointer { input in
            crypto_pwhash_str_alg(
                &output, input.baseAddress!, UInt64(input.count - 1), UInt64(operations), memoryBytes,
                crypto_pwhash_alg_argon2id13()
            )
        }
        guard status == 0 else { return nil }
        return String(decoding: output.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func verify(_ password: String, _ storedHash: String) -> Bool {
        var stored = Array(storedHash.utf8CString)
        let chars = Array(password.utf8CString)
        return chars.withUnsafeBufferPointer { input in
            crypto_pwhash_str_verify(&stored, input.baseAddress!, UInt64(input.count - 1)) == 0
        }
    }
}

/// libsodium could not start or refused the configured Argon2id parameters.
public struct PasswordHasherError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Constant-time equality of two byte strings of equal length (`sodium_memcmp`), for secrets.
func constantTimeEqual(_ left: [UInt8], _ right: [UInt8]) -> Bool {
    guard left.count == right.count else { return false }
    return left.withUnsafeBytes { l in right.withUnsafeBytes { r in sodium_memcmp(l.baseAddress, r.baseAddress, l.count) == 0 } }
}

/// `count` random bytes from libsodium's CSPRNG.
func randomBytes(_ count: Int) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    randombytes_buf(&bytes, count)
    return bytes
}

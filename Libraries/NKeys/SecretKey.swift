import CSodium

/// libsodium's 64-byte ed25519 secret key (seed followed by public key), kept off the Swift
/// heap's copy-on-write arrays so it exists once and is zeroed when the last pair drops it.
///
/// `@unchecked Sendable`: the bytes are written once in `init` and only read afterwards;
/// `deinit` runs when no other reference exists.
final class SecretKey: @unchecked Sendable {
    static let byteCount = Int(crypto_sign_SECRETKEYBYTES)
    static let seedCount = Int(crypto_sign_SEEDBYTES)

    private let pointer: UnsafeMutablePointer<UInt8>

    /// Derives the key pair from a 32-byte seed; writes the public key into `publicKey`.
    init(seed: [UInt8], publicKey: inout [UInt8]) {
        precondition(seed.count == Self.seedCount, "ed25519 seeds are 32 bytes")
        Sodium.ensureInitialized()
        pointer = .allocate(capacity: Self.byteCount)
        var result: Int32 = -1
        publicKey = Sodium.withOutput(count: Int(crypto_sign_PUBLICKEYBYTES)) { pk in
            result = Sodium.withInput(seed) { crypto_sign_seed_keypair(pk, pointer, $0) }
        }
        precondition(result == 0, "crypto_sign_seed_keypair failed")
    }

    deinit {
        sodium_memzero(pointer, Self.byteCount)
        pointer.deallocate()
    }

    /// A copy of the 32-byte seed, for encoding; the caller should not keep it longer than needed.
    var seed: [UInt8] {
        Array(UnsafeBufferPointer(start: pointer, count: Self.seedCount))
    }

    /// Detached ed25519 signature of `message`.
    func sign(_ message: [UInt8]) -> [UInt8] {
        var result: Int32 = -1
        let signature = Sodium.withOutput(count: Int(crypto_sign_BYTES)) { sig in
            result = Sodium.withInput(message) { crypto_sign_detached(sig, nil, $0, UInt64(message.count), pointer) }
        }
        precondition(result == 0, "crypto_sign_detached failed")
        return signature
    }
}

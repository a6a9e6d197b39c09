import CSodium

/// An ed25519 key pair in NKeys form: signs CONNECT nonces and JWTs, or, built from a public
/// key alone, only verifies. The seed stays private; descriptions show type and public key.
public struct NKeyPair: Sendable {
    /// The role of the key, from its prefix.
    public let type: NKeyType
    /// The encoded public key (`U…`, `A…`, `O…`, `N…`, `C…`), safe to share and log.
    public let publicKey: String

    private let rawPublicKey: [UInt8]
    private let secret: SecretKey?

    private init(type: NKeyType, rawSeed: [UInt8]) {
        var rawPublicKey: [UInt8] = []
        self.secret = SecretKey(seed: rawSeed, publicKey: &rawPublicKey)
        self.type = type
        self.rawPublicKey = rawPublicKey
        self.publicKey = NKeyCodec.encodePublicKey(type: type, rawPublicKey)
    }

    /// A fresh key pair from libsodium's CSPRNG.
    public static func generate(_ type: NKeyType) -> NKeyPair {
        var seed = Sodium.randomBytes(SecretKey.seedCount)
        defer { Sodium.wipe(&seed) }
        return NKeyPair(type: type, rawSeed: seed)
    }

    /// Parses an encoded seed (`SU…`, `SA…`, `SO…`, `SN…`, `SC…`); surrounding whitespace is
    /// ignored so the contents of a seed file can be passed as read.
    public init(seed: String) throws(NKeyError) {
        var (type, rawSeed) = try NKeyCodec.decodeSeed(trimmingWhitespace(seed))
        defer { Sodium.wipe(&rawSeed) }
        self.init(type: type, rawSeed: rawSeed)
    }

    /// A verify-only pair from an encoded public key; `sign` throws `publicKeyOnly`.
    public init(publicKey: String) throws(NKeyError) {
        let (type, raw) = try NKeyCodec.decodePublicKey(trimmingWhitespace(publicKey))
        self.type = type
        self.rawPublicKey = raw
        self.publicKey = NKeyCodec.encodePublicKey(type: type, raw)
        self.secret = nil
    }

    /// The encoded seed, or nil for a public-only pair. Treat it as a secret: never log it.
    public var seed: String? {
        guard let secret else { return nil }
        var raw = secret.seed
        defer { Sodium.wipe(&raw) }
        return NKeyCodec.encodeSeed(type: type, raw)
    }

    /// Whether this pair can sign (it was generated or parsed from a seed).
    public var canSign: Bool { secret != nil }

    /// The 64-byte detached ed25519 signature of `message` (a server nonce, a JWT's `header.payload`).
    public func sign(_ message: some Collection<UInt8>) throws(NKeyError) -> [UInt8] {
        guard let secret else {
            throw NKeyError(.publicKeyOnly, "a key pair built from a public key cannot sign")
        }
        return secret.sign(Array(message))
    }

    /// Whether `signature` is this key's ed25519 signature of `message`.
    public func verify(signature: [UInt8], message: some Collection<UInt8>) -> Bool {
        guard signature.count == Int(crypto_sign_BYTES) else { return false }
        Sodium.ensureInitialized()
        let bytes = Array(message)
        return Sodium.withInput(signature) { sig in
            Sodium.withInput(rawPublicKey) { pk in
                Sodium.withInput(bytes) { crypto_sign_verify_detached(sig, $0, UInt64(bytes.count), pk) == 0 }
            }
        }
    }
}

extension NKeyPair: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "NKeyPair(\(type), \(publicKey))" }
    public var debugDescription: String { description }
    /// Hides the secret from `dump` and debuggers that walk stored properties.
    public var customMirror: Mirror {
        Mirror(self, children: ["type": type, "publicKey": publicKey, "canSign": canSign])
    }
}

/// `text` without leading or trailing whitespace or newlines.
func trimmingWhitespace(_ text: some StringProtocol) -> Substring {
    var slice = Substring(text)
    while let first = slice.first, first.isWhitespace { slice.removeFirst() }
    while let last = slice.last, last.isWhitespace { slice.removeLast() }
    return slice
}

/// Every NKeys failure as one struct with an extensible code, so adding a kind never breaks callers.
///
/// Messages never contain the input that failed: a caller may pass a seed where a public key
/// was expected, and the error must still be safe to log.
public struct NKeyError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Stable identifier of the failure kind; compare against the static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }

        /// The text is not valid base32 / base64url (bad character, impossible length, stray bits).
        public static let invalidEncoding = Code(name: "invalidEncoding")
        /// The CRC16 appended to the key does not match: a typo or truncation.
        public static let invalidChecksum = Code(name: "invalidChecksum")
        /// The prefix is not the one expected here (a public key given as a seed, an unknown type).
        public static let invalidPrefix = Code(name: "invalidPrefix")
        /// A seed decoded to the wrong number of bytes.
        public static let invalidSeed = Code(name: "invalidSeed")
        /// A public key decoded to the wrong number of bytes or is not of the required type.
        public static let invalidPublicKey = Code(name: "invalidPublicKey")
        /// The key pair holds only a public key and cannot sign.
        public static let publicKeyOnly = Code(name: "publicKeyOnly")
        /// A key of one type was given where another is required (e.g. a user key signing an account JWT).
        public static let wrongKeyType = Code(name: "wrongKeyType")
        /// A creds file lacks its JWT or seed block.
        public static let invalidCredentials = Code(name: "invalidCredentials")
        /// A file could not be read.
        public static let unreadableFile = Code(name: "unreadableFile")
        /// A JWT is not three base64url segments with a NATS header and JSON claims.
        public static let invalidJWT = Code(name: "invalidJWT")
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}

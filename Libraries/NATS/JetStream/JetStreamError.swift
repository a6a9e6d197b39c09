/// A JetStream failure: the server's API error (`code` and `err_code`) or one the client detects,
/// as one struct with an extensible kind, like `NATSError`.
public struct JetStreamError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, from the caller's point of view; compare against the static members.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }

        /// The JetStream API answered with an error object; `status` and `errorCode` carry it.
        public static let api = Kind(name: "api")
        /// Nobody answered on the API subject: JetStream is not enabled for this account or domain.
        public static let notEnabled = Kind(name: "notEnabled")
        /// The server's answer could not be decoded.
        public static let invalidResponse = Kind(name: "invalidResponse")
        /// A stream, consumer, bucket or key name breaks the naming rules; nothing was sent.
        public static let invalidName = Kind(name: "invalidName")
        /// A reply subject is not a JetStream ack subject (the message cannot be acknowledged).
        public static let notAcknowledgeable = Kind(name: "notAcknowledgeable")
        /// A key-value `create` found the key already holding a value.
        public static let keyExists = Kind(name: "keyExists")
        /// A key-value bucket does not exist.
        public static let bucketNotFound = Kind(name: "bucketNotFound")
        /// A consumer or watcher was stopped, or its connection closed.
        public static let closed = Kind(name: "closed")
    }

    /// The server's `err_code` values the client and its callers act on.
    public struct ErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        public var description: String { String(rawValue) }

        public static let badRequest = ErrorCode(rawValue: 10003)
        public static let consumerNotFound = ErrorCode(rawValue: 10014)
        public static let noMessageFound = ErrorCode(rawValue: 10037)
        public static let streamNameInUse = ErrorCode(rawValue: 10058)
        public static let streamNotFound = ErrorCode(rawValue: 10059)
        public static let streamSubjectOverlap = ErrorCode(rawValue: 10065)
        public static let streamWrongLastMsgID = ErrorCode(rawValue: 10070)
        public static let streamWrongLastSequence = ErrorCode(rawValue: 10071)
        public static let notEnabled = ErrorCode(rawValue: 10076)
        public static let streamNotMatch = ErrorCode(rawValue: 10060)
    }

    public let kind: Kind
    public let message: String
    /// The API error's HTTP-like `code` (404, 400, 503…), when the server sent one.
    public let status: Int?
    /// The API error's `err_code` (10059 stream not found…), when the server sent one.
    public let errorCode: ErrorCode?

    public init(_ kind: Kind, _ message: String, status: Int? = nil, errorCode: ErrorCode? = nil) {
        self.kind = kind
        self.message = message
        self.status = status
        self.errorCode = errorCode
    }

    public var description: String {
        switch (status, errorCode) {
        case let (status?, code?): "\(kind): \(message) (code \(status), err_code \(code))"
        case let (status?, nil): "\(kind): \(message) (code \(status))"
        case let (nil, code?): "\(kind): \(message) (err_code \(code))"
        case (nil, nil): "\(kind): \(message)"
        }
    }
}

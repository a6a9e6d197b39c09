/// Every failure the client reports, as one struct with an extensible code so adding a case never breaks callers.
public struct NATSError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Stable identifier of the failure kind; compare against the static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }

        /// The server sent bytes that do not follow the protocol.
        public static let protocolError = Code(name: "protocolError")
        /// A subject failed the NATS grammar before anything was written.
        public static let invalidSubject = Code(name: "invalidSubject")
        /// A queue group name failed validation before anything was written.
        public static let invalidQueue = Code(name: "invalidQueue")
        /// A header name or value cannot be written to the wire.
        public static let invalidHeader = Code(name: "invalidHeader")
        /// The payload is larger than the server's `max_payload`.
        public static let payloadTooLarge = Code(name: "payloadTooLarge")
        /// An operation did not complete in its time limit.
        public static let timeout = Code(name: "timeout")
        /// A request reached no subscriber (status 503).
        public static let noResponders = Code(name: "noResponders")
        /// The connection was closed by `close()`, `drain()` or a fatal error.
        public static let connectionClosed = Code(name: "connectionClosed")
        /// The reconnect buffer is full; the publish was not accepted.
        public static let reconnectBufferFull = Code(name: "reconnectBufferFull")
        /// No server in the pool could be reached.
        public static let connectFailed = Code(name: "connectFailed")
        /// The server refused our credentials.
        public static let authorizationViolation = Code(name: "authorizationViolation")
        /// The server refused a publish or subscription for lack of permission.
        public static let permissionsViolation = Code(name: "permissionsViolation")
        /// Any other `-ERR` from the server.
        public static let serverError = Code(name: "serverError")
        /// TLS was required but could not be set up.
        public static let tlsError = Code(name: "tlsError")
        /// Messages were dropped because a subscription's pending limits were reached.
        public static let slowConsumer = Code(name: "slowConsumer")
        /// Options or credentials are invalid (bad seed file, unreadable creds, bad URL).
        public static let invalidConfiguration = Code(name: "invalidConfiguration")
        /// The subscription was closed (unsubscribed, drained, or its connection closed).
        public static let subscriptionClosed = Code(name: "subscriptionClosed")
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}

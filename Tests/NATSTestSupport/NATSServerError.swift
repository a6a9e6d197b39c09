/// A failure of the test harness itself (not of the code under test), with an extensible code.
///
/// `description` carries everything a failing test needs: what went wrong and, when a server
/// was involved, its captured log.
public struct NATSServerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Stable identifier of the failure kind; compare against the static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }

        /// The `nats-server` executable (or another tool such as `openssl`) is not installed.
        public static let executableNotFound = Code(name: "executableNotFound")
        /// The server did not log "Server is ready" within the start timeout.
        public static let startTimeout = Code(name: "startTimeout")
        /// The server process exited before it became ready (bad config, port in use, …).
        public static let exitedEarly = Code(name: "exitedEarly")
        /// A helper tool (`openssl`) exited non-zero, or a file could not be written.
        public static let setupFailed = Code(name: "setupFailed")
        /// A monitoring endpoint could not be reached or returned something other than JSON.
        public static let monitoringFailed = Code(name: "monitoringFailed")
        /// The call needs a server feature that this configuration did not enable.
        public static let notConfigured = Code(name: "notConfigured")
        /// A raw loopback socket operation failed or timed out.
        public static let socketFailed = Code(name: "socketFailed")
    }

    /// What kind of failure this is.
    public let code: Code
    /// A human-readable explanation.
    public let message: String
    /// The server's captured stderr at the time of the failure, when a server was involved.
    public let log: String?

    /// Creates an error; `log` is appended to `description` when present.
    public init(_ code: Code, _ message: String, log: String? = nil) {
        self.code = code
        self.message = message
        self.log = log
    }

    public var description: String {
        guard let log, !log.isEmpty else { return message }
        return "\(message)\n--- nats-server log ---\n\(log)--- end of log ---"
    }
}

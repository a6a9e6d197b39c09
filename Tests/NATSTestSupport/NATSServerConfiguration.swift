/// What the test server should enable. Every property is optional; the default value is a
/// plain server (no auth, no TLS, no JetStream) with only the monitoring port added.
///
/// Not every combination is accepted by nats-server (a `token` together with `users`, or
/// `operatorMode` together with config users): the server then refuses to start and
/// ``NATSServer/start(_:)`` throws with its log.
public struct NATSServerConfiguration: Sendable {
    /// TLS on the client port.
    public enum TLSMode: Sendable, Hashable {
        /// The server presents a certificate signed by a generated CA; clients need no certificate.
        case serverOnly
        /// As `serverOnly`, and the server requires and verifies a client certificate (`verify: true`).
        case mutual
    }

    /// A user/password entry of the `authorization { users: [...] }` block.
    public struct UserEntry: Sendable, Hashable {
        /// The user name.
        public var user: String
        /// The plain-text password.
        public var password: String
        /// Permissions of this user; `nil` means allowed everything.
        public var permissions: Permissions?

        /// Creates a user entry.
        public init(user: String, password: String, permissions: Permissions? = nil) {
            self.user = user
            self.password = password
            self.permissions = permissions
        }
    }

    /// An NKey user entry (`{ nkey: U… }`) of the `authorization { users: [...] }` block.
    public struct NKeyUserEntry: Sendable, Hashable {
        /// The user's public key (starts with `U`).
        public var publicKey: String
        /// Permissions of this user; `nil` means allowed everything.
        public var permissions: Permissions?

        /// Creates an NKey user entry.
        public init(publicKey: String, permissions: Permissions? = nil) {
            self.publicKey = publicKey
            self.permissions = permissions
        }
    }

    /// Enables JetStream with its store in the server's temp directory (kept across `restart()`).
    public var jetStream: Bool = false
    /// TLS on the client port; certificates are generated with `openssl` into the temp directory.
    public var tls: TLSMode? = nil
    /// User/password accounts.
    public var users: [UserEntry] = []
    /// A single authorization token.
    public var token: String? = nil
    /// NKey users.
    public var nkeyUsers: [NKeyUserEntry] = []
    /// Operator mode: an operator, an account and a user allowed everything are generated with
    /// NKeys; the server uses `resolver: MEMORY` with `resolver_preload`. The user's creds file
    /// is ``NATSServer/userCredsFile``; more users come from ``NATSServer/makeCredsFile(name:permissions:)``.
    public var operatorMode: Bool = false
    /// `max_payload` in bytes.
    public var maxPayload: Int? = nil
    /// `ping_interval`, a duration string such as `"1s"`.
    public var pingInterval: String? = nil
    /// `ping_max`: pings without answer before the server closes the connection.
    public var maxPingsOut: Int? = nil
    /// Adds a plain-text WebSocket listener on a free loopback port (``NATSServer/websocketPort``).
    public var websocketPort: Bool = false
    /// Raw configuration text appended at the end of the generated file.
    public var extra: String = ""

    /// Creates a configuration; every argument defaults to the plain server.
    public init(
        jetStream: Bool = false,
        tls: TLSMode? = nil,
        users: [UserEntry] = [],
        token: String? = nil,
        nkeyUsers: [NKeyUserEntry] = [],
        operatorMode: Bool = false,
        maxPayload: Int? = nil,
        pingInterval: String? = nil,
        maxPingsOut: Int? = nil,
        websocketPort: Bool = false,
        extra: String = ""
    ) {
        self.jetStream = jetStream
        self.tls = tls
        self.users = users
        self.token = token
        self.nkeyUsers = nkeyUsers
        self.operatorMode = operatorMode
        self.maxPayload = maxPayload
        self.pingInterval = pingInterval
        self.maxPingsOut = maxPingsOut
        self.websocketPort = websocketPort
        self.extra = extra
    }
}

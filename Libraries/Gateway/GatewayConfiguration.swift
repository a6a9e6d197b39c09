import GatewayAuth
import XYContracts
import XYCore
import XYService

/// xy-gateway's own settings (beside `ServiceConfiguration` (XYService), whose `HTTP_PORT` is the one port
/// serving WebSockets, `/metrics`, `/healthz` and the demo files). Authentication settings are
/// read by `GatewayAuthConfiguration`; their variables are listed here for `--help`.
public struct GatewayConfiguration: Sendable {
    /// What a full per-connection queue does with the next message.
    public enum BackpressurePolicy: String, Sendable, CaseIterable {
        /// Pending tick batches of the same group merge into one (latest value per symbol).
        case conflate
        /// The oldest queued message is dropped to make room.
        case dropOldest = "drop_oldest"
        /// The new message is dropped.
        case dropNewest = "drop_newest"
    }

    public var maxSubscriptions: Int
    public var queueMaxMessages: Int
    public var queueMaxBytes: Int
    public var backpressure: BackpressurePolicy
    /// How long a connection may stay over its high-water mark before it is closed (4008).
    public var slowConsumerTimeout: Duration
    public var pingInterval: Duration
    /// A connection with no subscription that sends nothing for this long is closed.
    public var idleTimeout: Duration
    /// Where the demo terminal's files are; nil serves none.
    public var staticDirectory: String?
    public var tlsCertificateFile: String?
    public var tlsKeyFile: String?
    /// How long the gateway waits for `xy.md.snapshot.get.<group>`.
    public var snapshotRequestTimeout: Duration
    /// Largest inbound WebSocket message (frames and fragments together); larger closes with 1009.
    /// No variable: this is the only place it is set.
    public var maxInboundMessageBytes = 1 << 20
    /// `SO_SNDBUF` of each client socket; nil leaves it to the kernel's autotuning.
    public var socketSendBuffer: Int?
    /// How long a connection that is closing may take to write its close frame (and, for an
    /// orderly close, what was queued before it) before the socket is closed regardless.
    public var closeTimeout: Duration
    /// How long a group's producer may send nothing before its subscribers hear `stale` (XYW008);
    /// xy-aggregator snapshots every group every 2–5 s, so three missed snapshots by default.
    public var producerSilence: Duration
    /// How often freed heap memory is given back to the system (after bursts and floods).
    public var memoryTrimInterval: Duration

    // MARK: before the upgrade (issue 15): deadlines and connection caps

    /// How long a connection has to send a complete request (from its opening, or from the first
    /// request after an idle keep-alive) and to be answered or upgraded; past it, it is closed.
    public var requestTimeout: Duration
    /// How long a kept-alive connection may wait for its next request before it is closed.
    public var keepAliveTimeout: Duration
    /// Open connections one client address may hold (upgraded or not); 0: no cap.
    public var maxConnectionsPerAddress: Int
    /// Open WebSocket connections one token subject (`sub`) may hold; 0: no cap.
    public var maxConnectionsPerSubject: Int
    /// Peers whose `X-Forwarded-For` / `X-Real-IP` are believed (addresses or CIDR ranges).
    public var trustedProxies: [String]

    public static let maxSubsVariable = EnvironmentVariable(
        "WS_MAX_SUBS", default: "64", help: "Subscriptions per connection when the token has no max_subs claim.")
    public static let queueMaxMessagesVariable = EnvironmentVariable(
        "WS_QUEUE_MAX_MSGS", default: "256", help: "Messages a connection's send queue holds while its socket is not writable.")
    public static let queueMaxBytesVariable = EnvironmentVariable(
        "WS_QUEUE_MAX_BYTES", default: "4194304", help: "Bytes a connection's send queue holds while its socket is not writable.")
    public static let backpressureVariable = EnvironmentVariable(
        "WS_BACKPRESSURE", default: "conflate",
        help: "Full queue policy: conflate (merge pending batches per group), drop_oldest or drop_newest.")
    public static let slowConsumerVariable = EnvironmentVariable(
        "WS_SLOW_CONSUMER_MS", default: "5000",
        help: "Milliseconds a connection may stay over its high-water mark before it is closed (4008, XYW003).")
    public static let pingIntervalVariable = EnvironmentVariable(
        "WS_PING_INTERVAL", default: "15s", help: "WebSocket ping period; two unanswered pings close the connection.")
    public static let idleTimeoutVariable = EnvironmentVariable(
        "WS_IDLE_TIMEOUT", default: "5m", help: "A connection without subscriptions that sends nothing for this long is closed.")
    public static let staticDirectoryVariable = EnvironmentVariable(
        "WS_STATIC_DIR", default: "Web", help: "Folder of the demo terminal served at / (empty string: serve no files).")
    public static let tlsCertificateVariable = EnvironmentVariable(
        "WS_TLS_CERT", help: "Certificate chain (PEM) for WSS/HTTPS; with WS_TLS_KEY.")
    public static let tlsKeyVariable = EnvironmentVariable(
        "WS_TLS_KEY", secret: true, help: "Private key (PEM) for WSS/HTTPS; with WS_TLS_CERT.")
    public static let memoryTrimIntervalVariable = EnvironmentVariable(
        "WS_MEMORY_TRIM_INTERVAL", default: "15s", help: "How often heap memory freed after a burst is returned to the system (malloc_trim).")
    public static let producerSilenceVariable = EnvironmentVariable(
        "WS_PRODUCER_SILENCE", default: "15s",
        help: "A group whose producer sends no batch or snapshot for this long is reported stale to its subscribers (XYW008).")
    public static let closeTimeoutVariable = EnvironmentVariable(
        "WS_CLOSE_TIMEOUT", default: "5s",
        help: "Time a closing connection gets to write its close frame (behind what was queued) before the socket is closed.")
    public static let socketSendBufferVariable = EnvironmentVariable(
        "WS_SOCKET_SEND_BUFFER",
        help: "SO_SNDBUF of each client socket in bytes; unset lets the kernel autotune (up to megabytes per slow client).")
    public static let snapshotTimeoutVariable = EnvironmentVariable(
        "WS_SNAPSHOT_TIMEOUT", default: "2s", help: "How long to wait for xy.md.snapshot.get.<group> before retrying.")

    public static let requestTimeoutVariable = EnvironmentVariable(
        "WS_REQUEST_TIMEOUT", default: "10s",
        help: "A connection must send a complete HTTP request (upgrade included) and be answered within this long of opening, or of starting a request after an idle keep-alive; otherwise it is closed (xy_ws_http_timeouts_total{reason=\"request\"}).")
    public static let keepAliveTimeoutVariable = EnvironmentVariable(
        "WS_KEEPALIVE_TIMEOUT", default: "15s",
        help: "A kept-alive HTTP connection that starts no new request within this long is closed (xy_ws_http_timeouts_total{reason=\"idle\"}).")
    public static let maxConnectionsPerAddressVariable = EnvironmentVariable(
        "WS_MAX_CONNECTIONS_PER_ADDRESS", default: "256",
        help: "Open connections per client address, upgraded or not, counted from the accept; more are answered 429 XYW006 (and get 1s to send their request). 0: no cap. Behind a proxy, see WS_TRUSTED_PROXIES.")
    public static let maxConnectionsPerSubjectVariable = EnvironmentVariable(
        "WS_MAX_CONNECTIONS_PER_SUBJECT", default: "32",
        help: "Open WebSocket connections per token subject (sub); more are answered 429 XYW006. 0: no cap.")
    public static let trustedProxiesVariable = EnvironmentVariable(
        "WS_TRUSTED_PROXIES",
        help: "Reverse proxies (IP addresses or CIDR ranges, comma separated) whose X-Forwarded-For (rightmost untrusted entry) or X-Real-IP names the client address; from any other peer those headers are ignored and the socket's peer is the client.")

    /// Read by `GatewayAuthConfiguration`; listed for `--help`.
    public static let authenticationVariables = GatewayAuthConfiguration.variables

    public static let variables: [EnvironmentVariable] = authenticationVariables + [
        maxSubsVariable, queueMaxMessagesVariable, queueMaxBytesVariable, backpressureVariable, slowConsumerVariable,
        pingIntervalVariable, idleTimeoutVariable, staticDirectoryVariable, tlsCertificateVariable, tlsKeyVariable,
        snapshotTimeoutVariable, socketSendBufferVariable, closeTimeoutVariable, producerSilenceVariable, memoryTrimIntervalVariable,
        requestTimeoutVariable, keepAliveTimeoutVariable, maxConnectionsPerAddressVariable, maxConnectionsPerSubjectVariable,
        trustedProxiesVariable,
    ]

    /// Every setting at its variable's default, except that no static files are served (tests).
    public init() {
        self = EnvironmentReader.defaults(Self.init(environment:))
        staticDirectory = nil
    }

    /// Reads and checks every gateway variable; the first bad one throws, naming it.
    public init(environment: EnvironmentReader) throws(ConfigurationError) {
        maxSubscriptions = try environment.integer(Self.maxSubsVariable, in: 1...10_000)
        queueMaxMessages = try environment.integer(Self.queueMaxMessagesVariable, in: 1...1_000_000)
        queueMaxBytes = try environment.integer(Self.queueMaxBytesVariable, in: 4096...(1 << 30))
        let policy = try environment.requiredString(Self.backpressureVariable)
        guard let parsed = BackpressurePolicy(rawValue: policy) else {
            throw ConfigurationError(
                variable: Self.backpressureVariable.name,
                reason: "must be one of \(BackpressurePolicy.allCases.map(\.rawValue).joined(separator: ", ")), got '\(policy)'")
        }
        backpressure = parsed
        slowConsumerTimeout = .milliseconds(try environment.integer(Self.slowConsumerVariable, in: 10...3_600_000))
        pingInterval = try environment.duration(Self.pingIntervalVariable)
        idleTimeout = try environment.duration(Self.idleTimeoutVariable)
        let directory = environment.environment[Self.staticDirectoryVariable.name] ?? Self.staticDirectoryVariable.defaultValue
        staticDirectory = directory?.isEmpty == false ? directory : nil
        tlsCertificateFile = try environment.file(Self.tlsCertificateVariable)
        tlsKeyFile = try environment.file(Self.tlsKeyVariable)
        if (tlsCertificateFile == nil) != (tlsKeyFile == nil) {
            throw ConfigurationError(
                variable: tlsCertificateFile == nil ? Self.tlsCertificateVariable.name : Self.tlsKeyVariable.name,
                reason: "WS_TLS_CERT and WS_TLS_KEY must be set together")
        }
        snapshotRequestTimeout = try environment.duration(Self.snapshotTimeoutVariable)
        closeTimeout = try environment.duration(Self.closeTimeoutVariable)
        producerSilence = try environment.duration(Self.producerSilenceVariable)
        memoryTrimInterval = try environment.duration(Self.memoryTrimIntervalVariable)
        if try environment.string(Self.socketSendBufferVariable) != nil {
            socketSendBuffer = try environment.integer(Self.socketSendBufferVariable, in: 4096...(64 << 20))
        }
        requestTimeout = try environment.duration(Self.requestTimeoutVariable)
        keepAliveTimeout = try environment.duration(Self.keepAliveTimeoutVariable)
        maxConnectionsPerAddress = try environment.integer(Self.maxConnectionsPerAddressVariable, in: 0...1_000_000)
        maxConnectionsPerSubject = try environment.integer(Self.maxConnectionsPerSubjectVariable, in: 0...1_000_000)
        trustedProxies = try environment.list(Self.trustedProxiesVariable)
        for proxy in trustedProxies where IPAddressRange(proxy) == nil {
            throw ConfigurationError(
                variable: Self.trustedProxiesVariable.name, reason: "'\(proxy)' is not an IP address or CIDR range (like 10.0.0.0/8)")
        }
    }
}

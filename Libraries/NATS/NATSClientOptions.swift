import Logging
import NIOCore

/// How a client connects, authenticates, reconnects and bounds its memory; every field has a working default.
public struct NATSClientOptions: Sendable {
    /// The seed servers; servers the cluster announces in INFO `connect_urls` are added at run time.
    public var servers: [NATSServerAddress] = [NATSServerAddress(host: "127.0.0.1")]
    /// Connection name shown by the server's monitoring.
    public var name: String?
    /// Whether the server may deliver our own publishes to our own subscriptions.
    public var echo = true
    public var authentication: NATSAuthentication = .none
    public var tls: NATSTLSOptions?
    /// Prefix for reply subjects; a user allowed only `xy.>` needs one under `xy.`.
    public var inboxPrefix = "_INBOX"
    public var connectTimeout: TimeAmount = .seconds(2)
    /// Interval between client PINGs that detect a dead link.
    public var pingInterval: TimeAmount = .seconds(120)
    /// PINGs without PONG after which the connection counts as stale and is replaced.
    public var maxPingsOutstanding = 2
    public var allowReconnect = true
    /// Reconnect attempts after a loss before giving up; -1 retries forever.
    public var maxReconnectAttempts = 60
    /// Backoff before the second attempt; doubles each attempt up to `reconnectWaitMax`.
    public var reconnectWaitInitial: TimeAmount = .milliseconds(50)
    public var reconnectWaitMax: TimeAmount = .seconds(2)
    /// Fraction of each backoff added or removed at random, so clients do not reconnect in step.
    public var reconnectJitter = 0.2
    /// Bytes of publishes kept while disconnected; past it `publish` throws `reconnectBufferFull`.
    public var reconnectBufferSize = 8 * 1024 * 1024
    /// Keep the configured server order instead of shuffling the pool.
    public var noRandomize = false
    /// Default pending limits for new subscriptions.
    public var pendingLimits = NATSPendingLimits()
    /// Outbound bytes not yet written to the socket above which a publisher on another thread waits.
    public var writeHighWaterMark = 32 * 1024 * 1024
    /// While publishes stream in, how long the flusher gathers them before the next write.
    /// Zero writes every batch at once (more wake-ups, lower latency under load).
    public var flushLinger: TimeAmount = .microseconds(50)
    /// Most bytes read from the socket, and handed to the parser and handlers, before the event loop
    /// turns to its timers and other channels. Handlers run on that loop, so this bounds how long a
    /// flood of inbound messages can hold back a timer scheduled on it (an aggregator's tick). Used
    /// as whole reads of a power of two up to 64 KiB, so e.g. 100,000 gives one 64 KiB read and
    /// 20,000 one of 16 KiB; at least 1 KiB. The default is SwiftNIO's own (4 reads of 64 KiB).
    public var readBurstBytes = 4 * 65536
    public var logger = Logger(label: "xy.nats", factory: { _ in SwiftLogNoOpLogHandler() })

    public init() {}

    /// Options for a single server URL (or a comma-separated list).
    public init(url: String) throws(NATSError) {
        self.servers = try NATSServerAddress.parseList(url)
    }
}

/// Credentials presented in CONNECT.
public enum NATSAuthentication: Sendable {
    case none
    case userPassword(user: String, password: String)
    case token(String)
    /// An NKey seed: the client signs the server's nonce.
    case nkeySeed(String)
    /// A seed file holding an NKey seed.
    case nkeySeedFile(String)
    /// A `.creds` file: a user JWT plus the seed that signs the nonce.
    case credentialsFile(String)
}

/// TLS material; each path is a PEM file. Without a CA the system roots are used.
public struct NATSTLSOptions: Sendable {
    public var caFile: String?
    public var certificateFile: String?
    public var keyFile: String?
    /// Upgrade to TLS even if the server does not require it.
    public var required: Bool

    public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil, required: Bool = true) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.required = required
    }
}

/// Per-subscription bounds on queued messages; past either, new messages are dropped and counted.
public struct NATSPendingLimits: Sendable, Hashable {
    public var messages: Int
    public var bytes: Int

    public init(messages: Int = 512 * 1024, bytes: Int = 64 * 1024 * 1024) {
        self.messages = messages
        self.bytes = bytes
    }
}

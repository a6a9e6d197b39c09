import XYCore

/// xy-realtime's own settings (beside `ServiceConfiguration` (XYService)): the vendor URL and key, what to
/// subscribe, and the timing of reconnects and liveness checks.
public struct UpstreamConfiguration: Sendable {
    /// `ws://127.0.0.1:9100/stocks` or `wss://socket.massive.com/stocks`.
    public var url: String
    /// The vendor API key: sent in the `auth` message only, never logged, never in metrics.
    public var apiKey: String
    /// Symbols to subscribe at start; `["*"]` for everything.
    public var symbols: [String]
    /// Vendor channels per symbol: `T`, `Q`, `A`, `AM`.
    public var channels: [String]
    /// Most symbols the interest set may hold (run-time subscribe requests included).
    public var maxSymbols: Int
    public var backoffInitial: Duration
    public var backoffMaximum: Duration
    /// Delay before retrying after `auth_failed`: slow, so a bad key does not hammer the vendor.
    public var authRetryDelay: Duration
    /// Delay before retrying after `max_connections`.
    public var maxConnectionsRetryDelay: Duration
    /// No frame for this long while subscribed → reconnect.
    public var silenceTimeout: Duration
    /// WebSocket ping period; a missing pong closes the connection.
    public var pingInterval: Duration
    /// Largest vendor message reassembled from its frames; a bigger one closes the connection (XYW109).
    public var maxMessageBytes: Int
    /// `source` of every MarketEvent.
    public var source: String
    /// How long a symbol nobody leases any more stays subscribed before it is reclaimed.
    public var leaseGrace: Duration

    public static let urlVariable = EnvironmentVariable("UPSTREAM_URL", required: true, help: "Vendor WebSocket URL, e.g. ws://127.0.0.1:9100/stocks.")
    public static let apiKeyVariable = EnvironmentVariable("UPSTREAM_API_KEY", required: true, secret: true, help: "Vendor API key (secret; never logged).")
    public static let symbolsVariable = EnvironmentVariable("UPSTREAM_SYMBOLS", default: "*", help: "Symbols to subscribe at start, comma separated, or * for all.")
    public static let channelsVariable = EnvironmentVariable("UPSTREAM_CHANNELS", default: "T,Q,AM", help: "Vendor channels per symbol: T, Q, A, AM.")
    public static let maxSymbolsVariable = EnvironmentVariable("UPSTREAM_MAX_SYMBOLS", default: "1000", help: "Most symbols the subscription may hold, run-time requests included.")
    public static let backoffInitialVariable = EnvironmentVariable("UPSTREAM_BACKOFF_INITIAL", default: "250ms", help: "First reconnect delay; doubles per failure, with jitter.")
    public static let backoffMaximumVariable = EnvironmentVariable("UPSTREAM_BACKOFF_MAX", default: "30s", help: "Cap of the reconnect delay.")
    public static let authRetryVariable = EnvironmentVariable("UPSTREAM_AUTH_RETRY", default: "60s", help: "Delay before retrying after auth_failed.")
    public static let maxConnectionsRetryVariable = EnvironmentVariable("UPSTREAM_MAX_CONNECTIONS_RETRY", default: "30s", help: "Delay before retrying after max_connections.")
    public static let silenceTimeoutVariable = EnvironmentVariable("UPSTREAM_SILENCE_TIMEOUT", default: "15s", help: "Reconnect when no frame arrives for this long while subscribed.")
    public static let pingIntervalVariable = EnvironmentVariable("UPSTREAM_PING_INTERVAL", default: "10s", help: "WebSocket ping period; a missing pong closes the connection.")
    public static let maxMessageBytesVariable = EnvironmentVariable(
        "UPSTREAM_MAX_MESSAGE_BYTES", default: "16777216", help: "Largest vendor message (all its fragments) read; a bigger one closes the connection (XYW109).")
    public static let sourceVariable = EnvironmentVariable("UPSTREAM_SOURCE", default: "polygon", help: "Value of MarketEvent.source.")
    public static let leaseGraceVariable = EnvironmentVariable(
        "UPSTREAM_LEASE_GRACE", default: "60s", help: "How long a symbol no gateway leases any more stays subscribed before it is reclaimed.")

    public static let variables: [EnvironmentVariable] = [
        urlVariable, apiKeyVariable, symbolsVariable, channelsVariable, maxSymbolsVariable, backoffInitialVariable,
        backoffMaximumVariable, authRetryVariable, maxConnectionsRetryVariable, silenceTimeoutVariable, pingIntervalVariable, maxMessageBytesVariable,
        sourceVariable, leaseGraceVariable,
    ]

    /// `url` and `apiKey`, and each other setting as given or else at its variable's default.
    public init(
        url: String, apiKey: String, symbols: [String]? = nil, channels: [String]? = nil, maxSymbols: Int? = nil,
        backoffInitial: Duration? = nil, backoffMaximum: Duration? = nil, authRetryDelay: Duration? = nil,
        maxConnectionsRetryDelay: Duration? = nil, silenceTimeout: Duration? = nil, pingInterval: Duration? = nil,
        maxMessageBytes: Int? = nil, source: String? = nil, leaseGrace: Duration? = nil
    ) {
        self = EnvironmentReader.defaults { environment throws(ConfigurationError) in
            try Self(url: url, apiKey: apiKey, environment: environment)
        }
        if let symbols { self.symbols = symbols }
        if let channels { self.channels = channels }
        if let maxSymbols { self.maxSymbols = maxSymbols }
        if let backoffInitial { self.backoffInitial = backoffInitial }
        if let backoffMaximum { self.backoffMaximum = backoffMaximum }
        if let authRetryDelay { self.authRetryDelay = authRetryDelay }
        if let maxConnectionsRetryDelay { self.maxConnectionsRetryDelay = maxConnectionsRetryDelay }
        if let silenceTimeout { self.silenceTimeout = silenceTimeout }
        if let pingInterval { self.pingInterval = pingInterval }
        if let maxMessageBytes { self.maxMessageBytes = maxMessageBytes }
        if let source { self.source = source }
        if let leaseGrace { self.leaseGrace = leaseGrace }
    }

    /// Reads and checks every `UPSTREAM_*` variable; the first bad one throws, naming it.
    public init(environment: EnvironmentReader) throws(ConfigurationError) {
        let url = try environment.requiredString(Self.urlVariable)
        guard url.hasPrefix("ws://") || url.hasPrefix("wss://"), url.count > 6 else {
            throw ConfigurationError(variable: Self.urlVariable.name, reason: "must be a ws:// or wss:// URL, got '\(url)'")
        }
        try self.init(url: url, apiKey: try environment.requiredString(Self.apiKeyVariable), environment: environment)
    }

    /// The settings besides the vendor URL and key, read from `environment`.
    private init(url: String, apiKey: String, environment: EnvironmentReader) throws(ConfigurationError) {
        self.url = url
        self.apiKey = apiKey
        symbols = try environment.list(Self.symbolsVariable).map { $0.uppercased() }
        if symbols.isEmpty { symbols = ["*"] }
        for symbol in symbols where symbol != "*" && !UpstreamInterest.isValidSymbol(symbol) {
            throw ConfigurationError(variable: Self.symbolsVariable.name, reason: "'\(symbol)' is not a ticker (A-Z, 0-9, '.', ':', '-')")
        }
        channels = try environment.list(Self.channelsVariable).map { $0.uppercased() }
        for channel in channels where !["T", "Q", "A", "AM"].contains(channel) {
            throw ConfigurationError(variable: Self.channelsVariable.name, reason: "'\(channel)' is not one of T, Q, A, AM")
        }
        guard !channels.isEmpty else {
            throw ConfigurationError(variable: Self.channelsVariable.name, reason: "must name at least one channel")
        }
        maxSymbols = try environment.integer(Self.maxSymbolsVariable, in: 1...100_000)
        if !symbols.contains("*"), symbols.count > maxSymbols {
            throw ConfigurationError(variable: Self.symbolsVariable.name, reason: "lists \(symbols.count) symbols, more than UPSTREAM_MAX_SYMBOLS (\(maxSymbols))")
        }
        backoffInitial = try environment.duration(Self.backoffInitialVariable)
        backoffMaximum = try environment.duration(Self.backoffMaximumVariable)
        guard backoffMaximum >= backoffInitial else {
            throw ConfigurationError(variable: Self.backoffMaximumVariable.name, reason: "must not be shorter than UPSTREAM_BACKOFF_INITIAL")
        }
        authRetryDelay = try environment.duration(Self.authRetryVariable)
        maxConnectionsRetryDelay = try environment.duration(Self.maxConnectionsRetryVariable)
        silenceTimeout = try environment.duration(Self.silenceTimeoutVariable)
        pingInterval = try environment.duration(Self.pingIntervalVariable)
        maxMessageBytes = try environment.integer(Self.maxMessageBytesVariable, in: 1024...(1 << 30))
        source = try environment.requiredString(Self.sourceVariable)
        leaseGrace = try environment.duration(Self.leaseGraceVariable)
    }
}

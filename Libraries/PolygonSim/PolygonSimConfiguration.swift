/// Everything `xy sim polygon` can be told: where to listen, which key to accept, what market to
/// simulate, and which faults to inject.
public struct PolygonSimConfiguration: Sendable {
    public var host: String = "127.0.0.1"
    /// 0 picks a free port (tests read it back from the server).
    public var port: Int = 9100
    /// The only API key `auth` accepts.
    public var apiKey: String = "sim-key"
    /// What a `*` subscription trades (any tradable ticker trades when named): the 10 busiest names.
    public var symbols: [String] = SimSymbols.mostActive(count: 10)
    /// Events per second over the listed symbols when all trade; a symbol's share is its activity's.
    public var rate: Double = 1000
    /// Seed of the deterministic random walk.
    public var seed: UInt64 = 1
    /// Connections allowed at once; one more gets `max_connections` and is closed.
    public var maxConnections: Int = 1
    /// How long a client may take to authenticate before `auth_timeout`.
    public var authTimeout: Duration = .seconds(5)
    /// Close every connection this long after it opened.
    public var dropEvery: Duration?
    /// Stop sending data this long after authentication, without closing.
    public var stallAfter: Duration?
    /// Refuse every key with `auth_failed`.
    public var rejectAuth = false
    /// Replace every Nth event with a malformed one (a broken object or an unknown `ev`), to test
    /// that clients skip it and keep the rest of the frame.
    public var malformedEvery: Int?
    /// After each authentication, send one text message of this many bytes in 64 KiB fragments
    /// before any data, to test that clients cap what they reassemble.
    public var oversizedMessageBytes: Int?
    /// How often the market advances and frames go out.
    public var tickInterval: Duration = .milliseconds(5)
    /// Most events in one frame.
    public var maxEventsPerFrame = 1000
    /// Frames a slow client may have queued before the simulator drops (and counts) its frames.
    public var clientQueueLimit = 4096

    public init() {}
}

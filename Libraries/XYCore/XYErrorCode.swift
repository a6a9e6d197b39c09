/// A stable error code that logs, HTTP bodies and WebSocket error frames carry, so operators and
/// clients can match on it without parsing prose.
///
/// A struct rather than an enum: services add their own codes (docs/errors.md) without
/// breaking anyone who switches over the shared ones.
public struct XYErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    public var description: String { rawValue }

    // MARK: shared codes (ARCHITECTURE.md)

    /// Unauthorized: missing token, bad Origin.
    public static let unauthorized = XYErrorCode(rawValue: "XYW001")
    /// Subject denied by ACL or malformed subject.
    public static let subjectDenied = XYErrorCode(rawValue: "XYW002")
    /// Backpressure: message dropped or slow consumer disconnected.
    public static let backpressure = XYErrorCode(rawValue: "XYW003")
    /// NATS disconnected or unavailable.
    public static let natsUnavailable = XYErrorCode(rawValue: "XYW004")
    /// JWT invalid: expired, bad signature, wrong algorithm, unknown kid.
    public static let jwtInvalid = XYErrorCode(rawValue: "XYW005")
    /// Quota exceeded.
    public static let quotaExceeded = XYErrorCode(rawValue: "XYW006")
    /// Malformed client message.
    public static let malformedClientMessage = XYErrorCode(rawValue: "XYW007")
    /// No batch or snapshot from a group's producer (xy-aggregator) for the gateway's silence
    /// timeout, or nobody answers its snapshot requests: the data shown is not live.
    public static let producerSilent = XYErrorCode(rawValue: "XYW008")

    // MARK: runtime codes (docs/errors.md)

    /// A configuration variable is missing or malformed; the process exits with status 2.
    public static let invalidConfiguration = XYErrorCode(rawValue: "XYW010")
    /// The service started, stopped, or changed readiness (informational).
    public static let lifecycle = XYErrorCode(rawValue: "XYW011")

    // MARK: xy-realtime codes (docs/errors.md)

    /// The vendor refused the API key (`auth_failed`); retried slowly.
    public static let upstreamAuthFailed = XYErrorCode(rawValue: "XYW101")
    /// The vendor refused the connection because the key has too many (`max_connections`).
    public static let upstreamMaxConnections = XYErrorCode(rawValue: "XYW102")
    /// A vendor frame or event was not valid JSON or lacked required fields; skipped and counted.
    public static let upstreamMalformed = XYErrorCode(rawValue: "XYW103")
    /// A vendor event of an unknown type (`ev`); skipped and counted.
    public static let upstreamUnknownEvent = XYErrorCode(rawValue: "XYW104")
    /// The upstream connection failed or closed; reconnecting with backoff.
    public static let upstreamDisconnected = XYErrorCode(rawValue: "XYW105")
    /// No data for the silence timeout while subscribed; the connection is recycled.
    public static let upstreamSilent = XYErrorCode(rawValue: "XYW106")
    /// A subscribe request would grow the interest set past its configured maximum.
    public static let upstreamInterestLimit = XYErrorCode(rawValue: "XYW107")
    /// The vendor did not answer the auth message in time (`auth_timeout`), or sent a status we did not expect.
    public static let upstreamProtocol = XYErrorCode(rawValue: "XYW108")
}

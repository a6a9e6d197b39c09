import HTTPTypes
import XYCore
import XYService

/// A refusal the API answers with `{"code","message"}` and its HTTP status: handlers throw it and
/// ``APIErrorMiddleware`` writes it, so every operation's error bodies come from one place.
public struct APIFailure: Error, Sendable, Equatable {
    public var status: HTTPResponse.Status
    public var code: XYErrorCode
    public var message: String
    /// Seconds for `Retry-After` (429 only).
    public var retryAfterSeconds: Int?
    /// The methods the path takes, for `Allow` (405 only).
    public var allow: String?

    public init(_ status: HTTPResponse.Status, _ code: XYErrorCode, _ message: String, retryAfterSeconds: Int? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
    }

    static func unauthorized(_ message: String) -> APIFailure { APIFailure(.unauthorized, .unauthorized, message) }
    static func invalidToken(_ message: String) -> APIFailure { APIFailure(.unauthorized, .jwtInvalid, message) }
    static func malformed(_ message: String) -> APIFailure { APIFailure(.badRequest, .malformedClientMessage, message) }
    static func unavailable(_ message: String) -> APIFailure { APIFailure(.serviceUnavailable, .natsUnavailable, message) }

    /// The JSON body.
    var body: String {
        "{\"code\":" + JSONText.quoted(code.rawValue) + ",\"message\":" + JSONText.quoted(message) + "}"
    }
}

/// xy-admin's own codes (docs/errors.md); shared ones are reused where they fit.
extension XYErrorCode {
    /// The username breaks the rules (3–32 of a–z, 0–9, `_`, `-`, starting with a letter).
    public static let invalidUsername = XYErrorCode(rawValue: "XYA001")
    /// The password is shorter than PASSWORD_MIN_LENGTH or longer than 256 characters.
    public static let invalidPassword = XYErrorCode(rawValue: "XYA002")
    /// The username is taken.
    public static let usernameTaken = XYErrorCode(rawValue: "XYA003")
    /// Unknown username or wrong password: one code, one body, one timing for both.
    public static let badCredentials = XYErrorCode(rawValue: "XYA004")
    /// Too many failed logins for the username or from the address (429, Retry-After).
    public static let loginRateLimited = XYErrorCode(rawValue: "XYA005")
    /// The refresh token is unknown, expired, spent or revoked.
    public static let refreshTokenInvalid = XYErrorCode(rawValue: "XYA006")
    /// The operation needs the admin role.
    public static let adminRequired = XYErrorCode(rawValue: "XYA007")
    /// Not a ticker.
    public static let invalidTicker = XYErrorCode(rawValue: "XYA008")
    /// The watchlist is at WATCHLIST_MAX.
    public static let watchlistFull = XYErrorCode(rawValue: "XYA009")
    /// The ticker is not on the caller's watchlist.
    public static let tickerNotListed = XYErrorCode(rawValue: "XYA010")
    /// No operation at this path and method (404, 405).
    public static let unknownRoute = XYErrorCode(rawValue: "XYA011")
}

/// The bars operation's codes (docs/errors.md, XYA020–XYA029).
extension XYErrorCode {
    /// bars: `timespan` is not `minute`.
    public static let barsTimespan = XYErrorCode(rawValue: "XYA020")
    /// bars: `multiplier` is not an integer from 1 to 60.
    public static let barsMultiplier = XYErrorCode(rawValue: "XYA021")
    /// bars: `from` or `to` is missing or not UTC ISO 8601 / epoch milliseconds.
    public static let barsTime = XYErrorCode(rawValue: "XYA022")
    /// bars: `limit` is not an integer from 1 to 5000.
    public static let barsLimit = XYErrorCode(rawValue: "XYA023")
    /// bars: `to` is more than BARS_MAX_RANGE after `from`.
    public static let barsRangeTooLong = XYErrorCode(rawValue: "XYA024")
    /// bars: `cursor` is not one this API issued for this query.
    public static let barsCursor = XYErrorCode(rawValue: "XYA025")
    /// bars: `from` is not before `to`.
    public static let barsEmptyRange = XYErrorCode(rawValue: "XYA026")
    /// The vendor's REST API answered with an error status or unreadable JSON (502).
    public static let vendorFailed = XYErrorCode(rawValue: "XYA027")
    /// The vendor's REST API is unreachable or refused the key (503).
    public static let vendorUnavailable = XYErrorCode(rawValue: "XYA028")
    /// The vendor's REST API did not answer within VENDOR_REST_TIMEOUT (504).
    public static let vendorTimeout = XYErrorCode(rawValue: "XYA029")
}

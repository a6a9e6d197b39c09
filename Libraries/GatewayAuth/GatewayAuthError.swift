import Foundation
import XYCore

/// Why the gateway refused an upgrade or a subscription.
///
/// A refusal has two audiences. The client gets `code` and the generic `message` (in the HTTP
/// body, `jsonBody`, or a WebSocket error frame): enough to act on, nothing that helps an attacker
/// probe the verifier, and never the token. The log gets `reason`, which says exactly what failed
/// (expired, bad signature, unknown kid, …) so an operator can debug a refusal.
/// Its code is the shared ``XYErrorCode``, so the gateway reports refusals with the codes every service uses.
public struct GatewayAuthError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The stable code (`XYW001`, `XYW002`, `XYW005`).
    public var code: XYErrorCode
    /// The HTTP status of the refusal at the upgrade (401 or 403).
    public var httpStatus: Int
    /// What the client is told: generic, never the detail, never the token.
    public var message: String
    /// What the log is told: the precise cause. Never contains the token.
    public var reason: String

    public init(code: XYErrorCode, httpStatus: Int, message: String, reason: String) {
        self.code = code
        self.httpStatus = httpStatus
        self.message = message
        self.reason = reason
    }

    /// No token in any of the accepted places: 401 XYW001.
    public static func missingToken(reason: String = "no token in Authorization, Sec-WebSocket-Protocol, query or cookie") -> Self {
        Self(code: .unauthorized, httpStatus: 401, message: "missing token", reason: reason)
    }

    /// An Origin not in the allow-list, or a browser-style request without one: 403 XYW001.
    public static func originNotAllowed(reason: String) -> Self {
        Self(code: .unauthorized, httpStatus: 403, message: "origin not allowed", reason: reason)
    }

    /// A token that failed verification for any reason: 401 XYW005.
    public static func invalidToken(reason: String) -> Self {
        Self(code: .jwtInvalid, httpStatus: 401, message: "invalid token", reason: reason)
    }

    /// A well-formed subject the ACL does not allow: 403 XYW002.
    public static func subjectDenied(reason: String) -> Self {
        Self(code: .subjectDenied, httpStatus: 403, message: "subject denied", reason: reason)
    }

    /// A subject that is not a valid client subject: 403 XYW002.
    public static func malformedSubject(reason: String) -> Self {
        Self(code: .subjectDenied, httpStatus: 403, message: "malformed subject", reason: reason)
    }

    /// The refusal body for the client: `{"code":"XYW005","message":"invalid token"}`.
    public var jsonBody: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = (try? encoder.encode(["code": code.rawValue, "message": message])) ?? Data()
        return String(decoding: body, as: UTF8.self)
    }

    public var description: String { "\(code.rawValue) (\(httpStatus)) \(message): \(reason)" }
}

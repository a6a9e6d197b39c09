import XYCore

/// An error a service reports to its operator or its clients: a stable code plus a message that
/// never contains a secret.
///
/// A struct with an extensible code, so adding a failure never breaks a caller's `switch`.
public struct ServiceError: Error, Sendable, CustomStringConvertible {
    public var code: XYErrorCode
    public var message: String

    public init(_ code: XYErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

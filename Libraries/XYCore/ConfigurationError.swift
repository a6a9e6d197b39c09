/// A missing or malformed environment variable, reported at start with the variable's name
/// (the process then exits with status 2, like a usage error).
public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The environment variable at fault.
    public var variable: String
    /// What is wrong with it; never the value itself when the variable holds a secret.
    public var reason: String

    public init(variable: String, reason: String) {
        self.variable = variable
        self.reason = reason
    }

    public var description: String { "\(variable): \(reason)" }
}

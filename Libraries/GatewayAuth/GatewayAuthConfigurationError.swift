/// A bad authentication setting, named by its environment variable so the operator knows what to fix.
public struct GatewayAuthConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The variable at fault (`JWT_PUBLIC_KEY`, …).
    public var variable: String
    /// What is wrong with it.
    public var message: String

    public init(variable: String, message: String) {
        self.variable = variable
        self.message = message
    }

    public var description: String { "\(variable): \(message)" }
}

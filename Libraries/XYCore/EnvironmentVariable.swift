/// One environment variable a service reads: its name, default and help, so `--help` and each service's docs/ page
/// list exactly what the code reads.
public struct EnvironmentVariable: Sendable, Hashable {
    public var name: String
    /// The default as the user would type it; nil when the variable is optional with no value, or required.
    public var defaultValue: String?
    /// A variable without a default that must be set.
    public var isRequired: Bool
    /// A secret (API key, password): its value is redacted from every log line and never echoed in errors.
    public var isSecret: Bool
    public var help: String

    public init(_ name: String, default defaultValue: String? = nil, required: Bool = false, secret: Bool = false, help: String) {
        self.name = name
        self.defaultValue = defaultValue
        self.isRequired = required
        self.isSecret = secret
        self.help = help
    }
}

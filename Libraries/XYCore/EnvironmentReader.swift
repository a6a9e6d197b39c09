#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads typed values from the process environment, turning every bad value into a
/// ``ConfigurationError`` that names the variable (and never repeats a secret's value).
///
/// The one place a service touches its environment, so configuration structs are built from a
/// plain dictionary in tests.
public struct EnvironmentReader: Sendable {
    public var environment: [String: String]

    public init(_ environment: [String: String]) {
        self.environment = environment
    }

    /// The raw value, the default when unset or empty, or an error when a required variable is missing.
    public func string(_ variable: EnvironmentVariable) throws(ConfigurationError) -> String? {
        if let value = environment[variable.name], !value.isEmpty {
            return value
        }
        if let fallback = variable.defaultValue {
            return fallback
        }
        if variable.isRequired {
            throw ConfigurationError(variable: variable.name, reason: "is required but not set")
        }
        return nil
    }

    /// A value that must be present (required, or defaulted).
    public func requiredString(_ variable: EnvironmentVariable) throws(ConfigurationError) -> String {
        guard let value = try string(variable) else {
            throw ConfigurationError(variable: variable.name, reason: "is required but not set")
        }
        return value
    }

    /// An integer within `range`.
    public func integer(_ variable: EnvironmentVariable, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        let text = try requiredString(variable)
        guard let value = Int(text.trimmingSpaces()) else {
            throw ConfigurationError(variable: variable.name, reason: "must be an integer, got \(shown(text, variable))")
        }
        guard range.contains(value) else {
            throw ConfigurationError(variable: variable.name, reason: "must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
        }
        return value
    }

    /// A duration such as `500ms`, `5s`, `2m` or a bare number of seconds; must be positive.
    public func duration(_ variable: EnvironmentVariable) throws(ConfigurationError) -> Duration {
        let text = try requiredString(variable)
        guard let value = Duration(parsing: text), value > .zero else {
            throw ConfigurationError(variable: variable.name, reason: "must be a positive duration like 500ms, 5s or 2m, got \(shown(text, variable))")
        }
        return value
    }

    /// A comma-separated list with blanks removed.
    public func list(_ variable: EnvironmentVariable) throws(ConfigurationError) -> [String] {
        guard let text = try string(variable) else { return [] }
        return text.split(separator: ",").map { String($0).trimmingSpaces() }.filter { !$0.isEmpty }
    }

    /// A path to a file that must exist and be readable.
    public func file(_ variable: EnvironmentVariable) throws(ConfigurationError) -> String? {
        guard let path = try string(variable) else { return nil }
        guard access(path, R_OK) == 0 else {
            throw ConfigurationError(variable: variable.name, reason: "names a file that does not exist or is not readable: \(path)")
        }
        return path
    }

    /// A configuration read from an empty environment, so every setting takes its variable's
    /// default: how a configuration's plain initializer gets its defaults without writing them a
    /// second time. A default that does not parse is a bug in the code, not in any input (each
    /// configuration's tests read its defaults), so it stops the process.
    public static func defaults<Configuration>(
        _ read: (EnvironmentReader) throws(ConfigurationError) -> Configuration
    ) -> Configuration {
        do {
            return try read(EnvironmentReader([:]))
        } catch {
            preconditionFailure("a configuration default does not parse: \(error)")
        }
    }

    /// How a value appears in an error message: quoted, or redacted when the variable is secret.
    public func shown(_ text: String, _ variable: EnvironmentVariable) -> String {
        variable.isSecret ? "a value (redacted)" : "'\(text)'"
    }
}

extension String {
    /// The text without leading and trailing spaces, tabs and newlines (no Foundation).
    func trimmingSpaces() -> String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" || first == "\n" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" || last == "\n" { slice = slice.dropLast() }
        return String(slice)
    }
}

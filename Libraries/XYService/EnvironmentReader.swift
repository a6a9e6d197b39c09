import Logging

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
        guard let value = Self.parseDuration(text), value > .zero else {
            throw ConfigurationError(variable: variable.name, reason: "must be a positive duration like 500ms, 5s or 2m, got \(shown(text, variable))")
        }
        return value
    }

    /// A comma-separated list with blanks removed.
    public func list(_ variable: EnvironmentVariable) throws(ConfigurationError) -> [String] {
        guard let text = try string(variable) else { return [] }
        return text.split(separator: ",").map { String($0).trimmingSpaces() }.filter { !$0.isEmpty }
    }

    /// A swift-log level name (`trace` … `critical`).
    public func logLevel(_ variable: EnvironmentVariable) throws(ConfigurationError) -> Logger.Level {
        let text = try requiredString(variable)
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            let names = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
            throw ConfigurationError(variable: variable.name, reason: "must be one of \(names), got \(shown(text, variable))")
        }
        return level
    }

    /// A path to a file that must exist and be readable.
    public func file(_ variable: EnvironmentVariable) throws(ConfigurationError) -> String? {
        guard let path = try string(variable) else { return nil }
        guard Platform.isReadableFile(path) else {
            throw ConfigurationError(variable: variable.name, reason: "names a file that does not exist or is not readable: \(path)")
        }
        return path
    }

    /// Parses `250ms`, `5s`, `1.5s`, `2m`, `1h` or a bare number of seconds.
    public static func parseDuration(_ text: String) -> Duration? {
        let trimmed = text.trimmingSpaces()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, scale) in units where trimmed.hasSuffix(suffix) {
            guard let number = Double(trimmed.dropLast(suffix.count)), number.isFinite, number >= 0 else { return nil }
            return .nanoseconds(Int64((number * scale * 1e9).rounded()))
        }
        guard let seconds = Double(trimmed), seconds.isFinite, seconds >= 0 else { return nil }
        return .nanoseconds(Int64((seconds * 1e9).rounded()))
    }

    private func shown(_ text: String, _ variable: EnvironmentVariable) -> String {
        variable.isSecret ? "a value (redacted)" : "'\(text)'"
    }
}

extension String {
    func trimmingSpaces() -> String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" || first == "\n" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" || last == "\n" { slice = slice.dropLast() }
        return String(slice)
    }
}

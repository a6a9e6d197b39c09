import Logging
import XYCore

extension EnvironmentReader {
    /// A swift-log level name (`trace` … `critical`); here rather than in XYCore, which does not
    /// depend on swift-log.
    public func logLevel(_ variable: EnvironmentVariable) throws(ConfigurationError) -> Logger.Level {
        let text = try requiredString(variable)
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            let names = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
            throw ConfigurationError(variable: variable.name, reason: "must be one of \(names), got \(shown(text, variable))")
        }
        return level
    }
}

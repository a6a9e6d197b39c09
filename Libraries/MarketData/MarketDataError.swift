/// Why a `MarketData` value refused its input: a snapshot it cannot restore, a configuration
/// out of range. A struct with an extensible code, so a new kind does not break callers' switches.
public struct MarketDataError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of input was refused.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }

        /// A snapshot or batch tick without a symbol.
        public static let emptySymbol = Code(name: "emptySymbol")
        /// The same symbol twice in one snapshot: which one is the state is not knowable.
        public static let duplicateSymbol = Code(name: "duplicateSymbol")
        /// A configuration value out of its allowed range (queue capacity, grace window, …).
        public static let invalidConfiguration = Code(name: "invalidConfiguration")

        init(name: String) { self.name = name }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}

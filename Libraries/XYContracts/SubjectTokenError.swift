/// Why a symbol, group, flag name or instance id cannot become part of a subject.
public struct SubjectTokenError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of token was refused; a struct so new kinds do not break callers' switches.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }

        public static let invalidSymbol = Code(name: "invalidSymbol")
        public static let invalidGroup = Code(name: "invalidGroup")
        public static let invalidFlagName = Code(name: "invalidFlagName")
        public static let invalidSessionEvent = Code(name: "invalidSessionEvent")
        public static let invalidInstance = Code(name: "invalidInstance")

        init(name: String) { self.name = name }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

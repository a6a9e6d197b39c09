/// Why the check could not run at all (as opposed to finding incompatibilities): the CLI prints
/// the message and exits 2.
public struct ContractsCheckError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What failed; a struct so new codes do not break callers' switches.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }

        /// protoc is missing, or refused a `.proto` file (its message is kept).
        public static let protocFailed = Code(name: "protocFailed")
        /// No `.proto` files where the contracts should be.
        public static let noContracts = Code(name: "noContracts")
        /// The baseline descriptor set does not exist or does not decode.
        public static let baselineUnreadable = Code(name: "baselineUnreadable")
        /// git failed: not a repository, or an unknown ref.
        public static let gitFailed = Code(name: "gitFailed")
        /// Conflicting or malformed arguments.
        public static let usage = Code(name: "usage")
        /// A file or process could not be written, read or started.
        public static let io = Code(name: "io")
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// One incompatibility (or lint finding), printed as `path/file.proto:LINE:COL:RULE_ID:message`
/// like buf's text output, so editors and CI annotate the line.
public struct ContractViolation: Hashable, Sendable, CustomStringConvertible, Comparable {
    /// The `.proto` file as protoc names it (relative to the contracts root).
    public var file: String
    /// 1-based line and column in the current file; 1:1 when the element has no place any more.
    public var line: Int
    public var column: Int
    /// buf's rule ID.
    public var ruleID: String
    public var message: String

    public init(file: String, line: Int, column: Int, ruleID: String, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.ruleID = ruleID
        self.message = message
    }

    public var description: String { formatted() }

    /// The output line, with `prefix` (the contracts root as the user sees it) before the file name.
    public func formatted(pathPrefix prefix: String = "") -> String {
        "\(prefix)\(file):\(line):\(column):\(ruleID):\(message)"
    }

    /// File, then position, then rule: the order buf prints in.
    public static func < (lhs: ContractViolation, rhs: ContractViolation) -> Bool {
        (lhs.file, lhs.line, lhs.column, lhs.ruleID, lhs.message) < (rhs.file, rhs.line, rhs.column, rhs.ruleID, rhs.message)
    }
}

/// Validation of the variable parts of xy subjects: symbols, groups and flag names.
///
/// A token may not contain `.` (it would split the subject), `*` or `>` (wildcards), whitespace
/// or control bytes (they end the NATS protocol line). Rather than escaping, each kind of token
/// has a small alphabet, and anything outside it is refused with the reason.
public enum SubjectToken {
    /// Longest symbol, group or flag name accepted; long enough for option symbols (`O:SPY251219C00650000`).
    public static let maximumLength = 64

    /// A ticker as a subject token. Symbols are upper case `A–Z`, digits and `: - .`; the `.` of
    /// share classes (`BRK.B`) is written `_` in the subject, which is why `_` is not allowed in a
    /// symbol: the mapping stays reversible (see `symbol(fromToken:)`).
    public static func symbol(_ symbol: String) throws(SubjectTokenError) -> String {
        try check(symbol, kind: "symbol", code: .invalidSymbol) { byte in
            isUpper(byte) || isDigit(byte) || byte == UInt8(ascii: ":") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
        }
        return String(decoding: symbol.utf8.map { $0 == UInt8(ascii: ".") ? UInt8(ascii: "_") : $0 }, as: UTF8.self)
    }

    /// The symbol a subject token stands for (`BRK_B` → `BRK.B`); throws if it is not a symbol token.
    public static func symbol(fromToken token: String) throws(SubjectTokenError) -> String {
        try check(token, kind: "symbol token", code: .invalidSymbol) { byte in
            isUpper(byte) || isDigit(byte) || byte == UInt8(ascii: ":") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }
        return String(decoding: token.utf8.map { $0 == UInt8(ascii: "_") ? UInt8(ascii: ".") : $0 }, as: UTF8.self)
    }

    /// A group name as a subject token: letters, digits, `_` and `-`. `get` is reserved, since
    /// `xy.md.snapshot.get` would read as the snapshot request prefix.
    public static func group(_ group: String) throws(SubjectTokenError) -> String {
        try check(group, kind: "group", code: .invalidGroup) { byte in isUpper(byte) || isLower(byte) || isDigit(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") }
        guard group != "get" else {
            throw SubjectTokenError(.invalidGroup, "group name 'get' is reserved (xy.md.snapshot.get.<GROUP> is the snapshot request)")
        }
        return group
    }

    /// A feature flag name as a key-value key: letters, digits, `_` and `-`.
    public static func flagName(_ name: String) throws(SubjectTokenError) -> String {
        try check(name, kind: "feature flag name", code: .invalidFlagName) { byte in isUpper(byte) || isLower(byte) || isDigit(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") }
        return name
    }

    /// A service instance id as a subject token (`gw-1`, `host_42-1234`): letters, digits, `_`
    /// and `-`; a host name with dots must be spelled without them before it names a subject.
    public static func instance(_ instance: String) throws(SubjectTokenError) -> String {
        try check(instance, kind: "instance", code: .invalidInstance) { byte in isUpper(byte) || isLower(byte) || isDigit(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") }
        return instance
    }

    private static func check(_ token: String, kind: String, code: SubjectTokenError.Code, allowed: (UInt8) -> Bool) throws(SubjectTokenError) {
        guard !token.isEmpty else { throw SubjectTokenError(code, "\(kind) is empty") }
        guard token.utf8.count <= maximumLength else {
            throw SubjectTokenError(code, "\(kind) '\(token.prefix(maximumLength))…' is longer than \(maximumLength) bytes")
        }
        if let bad = token.utf8.first(where: { !allowed($0) }) {
            let shown = bad >= 0x21 && bad < 0x7F ? "'\(Character(Unicode.Scalar(bad)))'" : "byte 0x" + String(bad, radix: 16, uppercase: true)
            throw SubjectTokenError(code, "\(kind) '\(printable(token))' contains \(shown)")
        }
    }

    /// The token with control and non-ASCII bytes shown as `?`, so an error message never carries them.
    private static func printable(_ token: String) -> String {
        String(decoding: token.utf8.prefix(maximumLength).map { $0 >= 0x20 && $0 < 0x7F ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
    }

    private static func isUpper(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") }
    private static func isLower(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") }
    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}

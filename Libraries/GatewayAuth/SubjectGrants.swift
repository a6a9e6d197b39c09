/// Decides whether a client may subscribe to a subject: the gateway's subject ACL.
///
/// Three checks, all needed, so that no client text reaches the NATS protocol unchecked:
/// 1. the subject is a valid *client* subject: printable ASCII without spaces, no empty tokens,
///    `*` only as a whole token, and never `>` (no client subscribes the gateway to a whole tree);
/// 2. it falls under the whitelist (`WS_SUBJECT_WHITELIST`, default `xy.md.*`), matched from the
///    start of the subject: `xy.md.*` admits any subject of three or more tokens beginning `xy.md.`;
/// 3. it is covered by one of the token's grants (NATS wildcard patterns, `xy.md.>`,
///    `xy.md.tick.*`), or by the whitelist when the token carries no `subjects` claim.
///
/// "Covered" is about every subject the client's pattern can match: `xy.md.tick.*` is covered by
/// `xy.md.>` and `xy.md.tick.*`, not by `xy.md.tick.demo`.
public struct SubjectGrants: Sendable, Equatable {
    /// The default whitelist: market data only.
    public static let defaultWhitelist = ["xy.md.*"]
    /// The longest subject accepted from a client, in bytes.
    public static let maximumSubjectLength = 256

    /// Prefix patterns every subject must fall under.
    public var whitelist: [String]
    /// The token's grants; nil means the token grants the whole whitelist.
    public var grants: [String]?

    public init(whitelist: [String] = SubjectGrants.defaultWhitelist, grants: [String]?) {
        self.whitelist = whitelist
        self.grants = grants
    }

    /// Accepts `subject` or throws XYW002 (`malformed subject` or `subject denied`).
    public func authorize(_ subject: String) throws(GatewayAuthError) {
        guard let tokens = Self.clientSubjectTokens(subject) else {
            throw .malformedSubject(reason: "malformed client subject \(String(reflecting: subject))")
        }
        guard whitelist.contains(where: { Self.prefixPattern($0, covers: tokens) }) else {
            throw .subjectDenied(reason: "subject \(subject) is outside WS_SUBJECT_WHITELIST \(whitelist.joined(separator: ","))")
        }
        if let grants {
            guard grants.contains(where: { Self.pattern($0, covers: tokens) }) else {
                throw .subjectDenied(reason: "subject \(subject) is not covered by the token's grants \(grants.joined(separator: ","))")
            }
        }
    }

    /// Whether `subject` may be used by a client: see the type's documentation.
    public static func isValidClientSubject(_ subject: String) -> Bool {
        clientSubjectTokens(subject) != nil
    }

    /// Whether `pattern` is a valid NATS subscription pattern (used for grants and whitelists):
    /// non-empty tokens of printable ASCII, `*` and `>` only as whole tokens, `>` only last.
    public static func isValidPattern(_ pattern: String) -> Bool {
        patternTokens(pattern) != nil
    }

    /// Whether the grant `pattern` matches every subject the client subject `subject` can match.
    public static func pattern(_ pattern: String, covers subject: String) -> Bool {
        guard let tokens = clientSubjectTokens(subject) else { return false }
        return Self.pattern(pattern, covers: tokens)
    }

    static func pattern(_ pattern: String, covers subject: [Substring]) -> Bool {
        guard let pattern = patternTokens(pattern) else { return false }
        for (index, token) in pattern.enumerated() {
            if token == ">" { return subject.count > index }
            guard index < subject.count else { return false }
            if token == "*" { continue }
            // A literal grant token covers only the same literal: a client `*` there would reach
            // subjects the grant does not name.
            guard subject[index] == token else { return false }
        }
        return subject.count == pattern.count
    }

    /// A whitelist entry is a prefix: its tokens must cover the start of the subject, and an
    /// entry ending in a wildcard needs at least one subject token in that place.
    static func prefixPattern(_ entry: String, covers subject: [Substring]) -> Bool {
        guard let pattern = patternTokens(entry), subject.count >= pattern.count else { return false }
        return Self.pattern(entry, covers: Array(subject.prefix(pattern.count)))
    }

    static func clientSubjectTokens(_ subject: String) -> [Substring]? {
        guard let tokens = patternTokens(subject), !tokens.contains(">") else { return nil }
        return tokens
    }

    static func patternTokens(_ text: String) -> [Substring]? {
        guard !text.isEmpty, text.utf8.count <= maximumSubjectLength,
            text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        else { return nil }
        let tokens = text.split(separator: ".", omittingEmptySubsequences: false)
        for (index, token) in tokens.enumerated() {
            guard !token.isEmpty else { return nil }
            if token == "*" { continue }
            if token == ">" {
                guard index == tokens.count - 1 else { return nil }
                continue
            }
            guard !token.contains("*"), !token.contains(">") else { return nil }
        }
        return tokens
    }
}

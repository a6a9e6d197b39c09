/// Removes secrets from text before it reaches a log line, an HTTP body or an error message.
///
/// Two rules: every configured secret value (an API key, a password) is replaced wherever it
/// appears, and metadata keys that name a secret (`api_key`, `token`, `password`, `seed`, …) have
/// their values replaced whole, whatever they hold.
public struct SecretRedactor: Sendable {
    /// What a secret is replaced with.
    public static let mask = "[REDACTED]"

    /// Fragments of metadata keys whose values are always secret.
    public static let secretKeyFragments = ["key", "token", "password", "passwd", "secret", "seed", "credential", "authorization"]

    public private(set) var secrets: [String]

    public init(secrets: [String] = []) {
        // Very short values would blank out ordinary words; a secret that short is not one.
        self.secrets = secrets.filter { $0.utf8.count >= 4 }.sorted { $0.utf8.count > $1.utf8.count }
    }

    /// Whether a metadata key names a secret.
    public static func isSecretKey(_ key: String) -> Bool {
        let lowered = key.lowercased()
        return secretKeyFragments.contains { lowered.contains($0) }
    }

    /// The text with every known secret value masked.
    public func redact(_ text: String) -> String {
        guard !secrets.isEmpty else { return text }
        var result = text
        for secret in secrets where result.contains(secret) {
            result = result.replacing(secret, with: Self.mask)
        }
        return result
    }
}

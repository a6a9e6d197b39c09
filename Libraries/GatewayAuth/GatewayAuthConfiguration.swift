import Foundation

/// The gateway's authentication settings, read from the environment in one place.
///
/// Every property is documented and defaulted except the key source, which has no safe default:
/// a gateway without keys would accept nobody, so it must be told where the keys are.
public struct GatewayAuthConfiguration: Sendable, Equatable {
    /// Where the public keys come from.
    public enum KeySource: Sendable, Equatable {
        /// One PEM public key (`JWT_PUBLIC_KEY`, inline or read from the file it names).
        case publicKeyPEM(String)
        /// A JWKS document fetched from this URL (`JWT_JWKS_URL`), keys chosen by `kid`.
        case jwksURL(String)
    }

    public var keySource: KeySource
    /// The required `iss` (`JWT_ISSUER`); nil accepts any.
    public var issuer: String?
    /// An `aud` tokens must list (`JWT_AUDIENCE`); nil accepts any.
    public var audience: String?
    /// Clock skew tolerated on `exp`/`nbf` (`JWT_LEEWAY_SECONDS`, default 30).
    public var leeway: Duration = .seconds(30)
    /// Allowed browser origins (`WS_ALLOWED_ORIGINS`, CSV, exact match; empty allows none).
    public var originPolicy = OriginPolicy(allowedOrigins: [])
    /// Subject prefixes clients may use (`WS_SUBJECT_WHITELIST`, default `xy.md.*`).
    public var subjectWhitelist = SubjectGrants.defaultWhitelist
    /// How old JWKS keys may get before a background refresh.
    public var jwksRefreshInterval: Duration = .seconds(300)
    /// The least time between two JWKS fetches, whatever the unknown `kid`s.
    public var jwksMinimumRefreshInterval: Duration = .seconds(10)

    public init(keySource: KeySource) {
        self.keySource = keySource
    }

    /// Reads `JWT_PUBLIC_KEY` or `JWT_JWKS_URL` (exactly one), `JWT_ISSUER`, `JWT_AUDIENCE`,
    /// `JWT_LEEWAY_SECONDS`, `WS_ALLOWED_ORIGINS` and `WS_SUBJECT_WHITELIST`; a bad value throws
    /// with the variable's name.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) throws(GatewayAuthConfigurationError) {
        func value(_ name: String) -> String? {
            guard let raw = environment[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !raw.isEmpty else { return nil }
            return raw
        }
        switch (value("JWT_PUBLIC_KEY"), value("JWT_JWKS_URL")) {
        case (.some, .some):
            throw GatewayAuthConfigurationError(variable: "JWT_PUBLIC_KEY", message: "set JWT_PUBLIC_KEY or JWT_JWKS_URL, not both")
        case (.none, .none):
            throw GatewayAuthConfigurationError(variable: "JWT_JWKS_URL", message: "set JWT_JWKS_URL or JWT_PUBLIC_KEY")
        case (.some(let key), .none):
            self.init(keySource: .publicKeyPEM(try Self.readPEM(key)))
        case (.none, .some(let url)):
            guard let components = URLComponents(string: url), ["http", "https"].contains(components.scheme?.lowercased() ?? ""),
                components.host?.isEmpty == false
            else { throw GatewayAuthConfigurationError(variable: "JWT_JWKS_URL", message: "not an http:// or https:// URL: \(url)") }
            self.init(keySource: .jwksURL(url))
        }
        issuer = value("JWT_ISSUER")
        audience = value("JWT_AUDIENCE")
        if let leewayText = value("JWT_LEEWAY_SECONDS") {
            guard let seconds = Int(leewayText), (0...3600).contains(seconds) else {
                throw GatewayAuthConfigurationError(variable: "JWT_LEEWAY_SECONDS", message: "not a whole number of seconds from 0 to 3600: \(leewayText)")
            }
            leeway = .seconds(seconds)
        }
        if let origins = value("WS_ALLOWED_ORIGINS") {
            originPolicy = OriginPolicy(csv: origins)
        }
        if let whitelist = value("WS_SUBJECT_WHITELIST") {
            let entries = SubjectGrants.whitelist(csv: whitelist)
            guard !entries.isEmpty, entries.allSatisfy(SubjectGrants.isValidPattern) else {
                throw GatewayAuthConfigurationError(variable: "WS_SUBJECT_WHITELIST", message: "not a list of NATS subject patterns: \(whitelist)")
            }
            subjectWhitelist = entries
        }
    }

    /// An inline PEM (it contains `-----BEGIN`) or the PEM in the file the value names.
    static func readPEM(_ value: String) throws(GatewayAuthConfigurationError) -> String {
        if value.contains("-----BEGIN") { return value.replacingOccurrences(of: "\\n", with: "\n") }
        guard let text = try? String(contentsOfFile: value, encoding: .utf8) else {
            throw GatewayAuthConfigurationError(variable: "JWT_PUBLIC_KEY", message: "neither an inline PEM nor a readable file: \(value)")
        }
        return text
    }
}

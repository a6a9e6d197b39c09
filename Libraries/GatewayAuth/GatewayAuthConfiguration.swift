import Foundation
import XYCore

/// The gateway's authentication settings, read from the environment in one place.
///
/// Every setting has its variable below, and a variable's default is written there only (the
/// properties start from those defaults). The key source has no safe default: a gateway without
/// keys would accept nobody, so it must be told where the keys are.
public struct GatewayAuthConfiguration: Sendable, Equatable {
    /// Where the public keys come from.
    public enum KeySource: Sendable, Equatable {
        /// One PEM public key (`JWT_PUBLIC_KEY`, inline or read from the file it names).
        case publicKeyPEM(String)
        /// A JWKS document fetched from this URL (`JWT_JWKS_URL`), keys chosen by `kid`.
        case jwksURL(String)
    }

    public static let publicKeyVariable = EnvironmentVariable(
        "JWT_PUBLIC_KEY", help: "Public key (PEM, inline or a file path) that verifies tokens; or JWT_JWKS_URL.")
    public static let jwksURLVariable = EnvironmentVariable(
        "JWT_JWKS_URL", help: "JWKS URL with the token keys by kid (refreshed periodically and on an unknown kid).")
    public static let issuerVariable = EnvironmentVariable("JWT_ISSUER", help: "Required iss claim, when set.")
    public static let audienceVariable = EnvironmentVariable("JWT_AUDIENCE", help: "Required aud claim, when set.")
    public static let leewayVariable = EnvironmentVariable("JWT_LEEWAY_SECONDS", default: "30", help: "Clock leeway for exp and nbf, 0 to 3600.")
    public static let allowedOriginsVariable = EnvironmentVariable(
        "WS_ALLOWED_ORIGINS", help: "Origins allowed to connect, comma separated, exact match.")
    public static let subjectWhitelistVariable = EnvironmentVariable(
        "WS_SUBJECT_WHITELIST", default: SubjectGrants.defaultWhitelist.joined(separator: ","),
        help: "Subject prefixes clients may ever subscribe, comma separated.")

    /// Every variable this struct reads, in `--help` order.
    public static let variables: [EnvironmentVariable] = [
        publicKeyVariable, jwksURLVariable, issuerVariable, audienceVariable, leewayVariable, allowedOriginsVariable,
        subjectWhitelistVariable,
    ]

    public var keySource: KeySource
    /// The required `iss` (`JWT_ISSUER`); nil accepts any.
    public var issuer: String?
    /// An `aud` tokens must list (`JWT_AUDIENCE`); nil accepts any.
    public var audience: String?
    /// Clock skew tolerated on `exp`/`nbf` (`JWT_LEEWAY_SECONDS`).
    public var leeway: Duration
    /// Allowed browser origins (`WS_ALLOWED_ORIGINS`, CSV, exact match; empty allows none).
    public var originPolicy: OriginPolicy
    /// Subject prefixes clients may use (`WS_SUBJECT_WHITELIST`).
    public var subjectWhitelist: [String]
    /// How old JWKS keys may get before a background refresh (no variable).
    public var jwksRefreshInterval: Duration = .seconds(300)
    /// The least time between two JWKS fetches, whatever the unknown `kid`s (no variable).
    public var jwksMinimumRefreshInterval: Duration = .seconds(10)

    /// `keySource` with every other setting at its variable's default.
    public init(keySource: KeySource) {
        self = EnvironmentReader.defaults { environment throws(ConfigurationError) in
            try Self(keySource: keySource, environment: environment)
        }
    }

    /// Reads `JWT_PUBLIC_KEY` or `JWT_JWKS_URL` (exactly one), `JWT_ISSUER`, `JWT_AUDIENCE`,
    /// `JWT_LEEWAY_SECONDS`, `WS_ALLOWED_ORIGINS` and `WS_SUBJECT_WHITELIST`; a bad value throws
    /// with the variable's name.
    public init(environment: EnvironmentReader) throws(ConfigurationError) {
        let key = try environment.string(Self.publicKeyVariable)?.trimmingCharacters(in: .whitespacesAndNewlines)
        let url = try environment.string(Self.jwksURLVariable)?.trimmingCharacters(in: .whitespacesAndNewlines)
        switch (key.flatMap { $0.isEmpty ? nil : $0 }, url.flatMap { $0.isEmpty ? nil : $0 }) {
        case (.some, .some):
            throw ConfigurationError(variable: Self.publicKeyVariable.name, reason: "set JWT_PUBLIC_KEY or JWT_JWKS_URL, not both")
        case (.none, .none):
            throw ConfigurationError(variable: Self.jwksURLVariable.name, reason: "set JWT_JWKS_URL or JWT_PUBLIC_KEY")
        case (.some(let key), .none):
            try self.init(keySource: .publicKeyPEM(try Self.readPEM(key)), environment: environment)
        case (.none, .some(let url)):
            guard let components = URLComponents(string: url), ["http", "https"].contains(components.scheme?.lowercased() ?? ""),
                components.host?.isEmpty == false
            else { throw ConfigurationError(variable: Self.jwksURLVariable.name, reason: "not an http:// or https:// URL: \(url)") }
            try self.init(keySource: .jwksURL(url), environment: environment)
        }
    }

    /// `keySource` and the settings besides the key, read from `environment`.
    private init(keySource: KeySource, environment: EnvironmentReader) throws(ConfigurationError) {
        self.keySource = keySource
        issuer = try environment.string(Self.issuerVariable)
        audience = try environment.string(Self.audienceVariable)
        leeway = .seconds(try environment.integer(Self.leewayVariable, in: 0...3600))
        originPolicy = OriginPolicy(allowedOrigins: Set(try environment.list(Self.allowedOriginsVariable)))
        subjectWhitelist = try environment.list(Self.subjectWhitelistVariable)
        guard !subjectWhitelist.isEmpty, subjectWhitelist.allSatisfy(SubjectGrants.isValidPattern) else {
            throw ConfigurationError(
                variable: Self.subjectWhitelistVariable.name,
                reason: "not a list of NATS subject patterns: \(subjectWhitelist.joined(separator: ","))")
        }
    }

    /// An inline PEM (it contains `-----BEGIN`) or the PEM in the file the value names.
    static func readPEM(_ value: String) throws(ConfigurationError) -> String {
        if value.contains("-----BEGIN") { return value.replacingOccurrences(of: "\\n", with: "\n") }
        guard let text = try? String(contentsOfFile: value, encoding: .utf8) else {
            throw ConfigurationError(variable: publicKeyVariable.name, reason: "neither an inline PEM nor a readable file: \(value)")
        }
        return text
    }
}

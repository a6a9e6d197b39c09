import Foundation
import Aggregator
import XYCore
import XYService

/// xy-admin's own settings (beside ServiceConfiguration's), read from the environment so that
/// `--help`, compose and docs/admin.md list exactly what the code reads.
public struct AdminConfiguration: Sendable {
    /// The API listener (`API_HOST`:`API_PORT`); `/metrics` and `/healthz` stay on `HTTP_PORT`.
    public var apiHost: String
    public var apiPort: Int
    /// Replicas of every bucket, like the aggregator's streams.
    public var streamReplicas: Int
    public var accessTokenLifetime: Duration
    public var refreshTokenLifetime: Duration
    /// How long a signing key signs before a new one replaces it.
    public var signingKeyRotation: Duration
    public var passwordMinimumLength: Int
    public var argon2Operations: Int
    public var argon2MemoryBytes: Int
    /// Failed logins per username, and per client address, before 429 for `loginLockout`.
    public var loginMaxFailuresPerUser: Int
    public var loginMaxFailuresPerAddress: Int
    public var loginLockout: Duration
    public var watchlistMaximum: Int
    public var watchlistDefault: [String]
    /// The `subjects` and `max_subs` claims every access token carries.
    public var tokenSubjects: [String]
    public var tokenMaxSubscriptions: Int
    public var issuer: String?
    public var audience: String?
    /// Reverse proxies (the edge) whose `X-Forwarded-For` / `X-Real-IP` name the client address
    /// the login rate limit counts; from any other peer the socket's address counts.
    public var trustedProxies: [String]
    /// Accounts that get the admin role at registration and at every login and renewal.
    public var adminUsernames: Set<String>
    /// Development only: where to keep a current admin token for the built-in operator principal.
    public var adminTokenFile: String?
    public var adminTokenLifetime: Duration
    /// How long `xy.session.*` events stay in `XY_SESSIONS` (the sessions `/admin/sessions` knows).
    public var sessionsRetention: Duration
    /// Changes kept per flag in `XY_FLAG_AUDIT`.
    public var flagHistoryMaximum: Int
    /// How long `/admin/health` keeps listing an instance that went silent.
    public var healthForget: Duration
    /// The aggregator's groups (its own `AGG_GROUPS`), where the snapshots operation finds each ticker's group.
    public var marketDataGroups: [AggregatorConfiguration.Group]
    /// The aggregators' `AGG_DYNAMIC_GROUPS`, where the snapshots operation finds a ticker no group names.
    public var marketDataDynamicGroups: Int
    /// The vendor's REST API (bars backfill, snapshot fallback); nil turns both off.
    public var vendorRESTURL: String?
    /// Secret: sent only as a bearer header, redacted from logs and errors.
    public var vendorAPIKey: String?
    public var vendorRESTTimeout: Duration
    /// The longest [from, to) one bars query may span (XYA024 beyond).
    public var barsMaximumRange: Duration

    public static let apiHostVariable = EnvironmentVariable("API_HOST", default: "0.0.0.0", help: "Address the REST API listener binds.")
    public static let apiPortVariable = EnvironmentVariable("API_PORT", default: "8081", help: "Port of the REST API (0 picks a free one).")
    public static let replicasVariable = EnvironmentVariable("XY_STREAM_REPLICAS", default: "1", help: "Replicas of the key-value buckets (1 to 5; more than 1 needs a JetStream cluster).")
    public static let accessTTLVariable = EnvironmentVariable("ACCESS_TOKEN_TTL", default: "15m", help: "Lifetime of an access token (ES256 JWT).")
    public static let refreshTTLVariable = EnvironmentVariable("REFRESH_TOKEN_TTL", default: "720h", help: "Lifetime of a refresh token (spent on use, a new one replaces it).")
    public static let rotationVariable = EnvironmentVariable("SIGNING_KEY_ROTATION", default: "24h", help: "How long a signing key is used before a new one replaces it (the old one stays in the JWKS until its tokens expire).")
    public static let passwordMinimumVariable = EnvironmentVariable("PASSWORD_MIN_LENGTH", default: "10", help: "Shortest password accepted at registration (characters).")
    public static let argon2OpsVariable = EnvironmentVariable("ARGON2_OPSLIMIT", default: String(PasswordHasher.interactiveOperations), help: "Argon2id passes (libsodium's interactive limit by default).")
    public static let argon2MemVariable = EnvironmentVariable("ARGON2_MEMLIMIT", default: String(PasswordHasher.interactiveMemoryBytes), help: "Argon2id memory in bytes (libsodium's interactive limit by default).")
    public static let loginUserVariable = EnvironmentVariable("LOGIN_MAX_FAILURES_PER_USER", default: "5", help: "Failed logins for one username before it is locked out for LOGIN_LOCKOUT.")
    public static let loginAddressVariable = EnvironmentVariable("LOGIN_MAX_FAILURES_PER_ADDRESS", default: "20", help: "Failed logins from one client address before it is locked out for LOGIN_LOCKOUT.")
    public static let lockoutVariable = EnvironmentVariable("LOGIN_LOCKOUT", default: "5m", help: "How long failures are remembered and a lockout lasts (429 with Retry-After).")
    public static let watchlistMaxVariable = EnvironmentVariable("WATCHLIST_MAX", default: "50", help: "Most tickers on one user's watchlist.")
    public static let watchlistDefaultVariable = EnvironmentVariable("WATCHLIST_DEFAULT", default: "AAPL,MSFT,NVDA,AMZN,SPY", help: "The watchlist a new user starts with (comma separated).")
    public static let tokenSubjectsVariable = EnvironmentVariable("TOKEN_SUBJECTS", default: "xy.md.>", help: "The subjects claim of access tokens (NATS patterns, comma separated).")
    public static let tokenMaxSubsVariable = EnvironmentVariable("TOKEN_MAX_SUBS", default: "200", help: "The max_subs claim of access tokens.")
    public static let issuerVariable = EnvironmentVariable("JWT_ISSUER", help: "The iss claim of access tokens, when set (the gateway's JWT_ISSUER).")
    public static let audienceVariable = EnvironmentVariable("JWT_AUDIENCE", help: "The aud claim of access tokens, when set (the gateway's JWT_AUDIENCE).")
    public static let trustedProxiesVariable = EnvironmentVariable(
        "TRUSTED_PROXIES",
        help: "Reverse proxies (IP addresses or CIDR ranges, comma separated) whose X-Forwarded-For (rightmost untrusted entry) or X-Real-IP names the client address for the login rate limit; from any other peer those headers are ignored and the socket's peer is the client.")

    public static let adminUsernamesVariable = EnvironmentVariable("ADMIN_USERNAMES", help: "Accounts given the admin role at registration and at every login and renewal (comma separated); an account dropped from the list is a user again at its next login.")
    public static let adminTokenFileVariable = EnvironmentVariable("ADMIN_TOKEN_FILE", help: "Development only: keep an admin token for the built-in operator principal in this file (mode 0600, replaced atomically, renewed at half its lifetime and after a key rotation).")
    public static let adminTokenTTLVariable = EnvironmentVariable("ADMIN_TOKEN_TTL", default: "1h", help: "Lifetime of the ADMIN_TOKEN_FILE token.")
    public static let sessionsRetentionVariable = EnvironmentVariable("SESSIONS_RETENTION", default: "24h", help: "How long the gateways' session events are kept in XY_SESSIONS (GET /admin/sessions).")
    public static let flagHistoryVariable = EnvironmentVariable("FLAG_HISTORY_MAX", default: "100", help: "Changes kept per feature flag in XY_FLAG_AUDIT.")
    public static let healthForgetVariable = EnvironmentVariable("HEALTH_FORGET", default: "15m", help: "How long GET /admin/health keeps listing an instance whose heartbeats stopped.")

    public static let vendorRESTURLVariable = EnvironmentVariable("UPSTREAM_REST_URL", help: "Vendor REST base URL for bars backfill and the snapshot fallback, e.g. http://127.0.0.1:9100 (xy sim polygon); unset turns both off.")
    public static let vendorAPIKeyVariable = EnvironmentVariable("UPSTREAM_API_KEY", secret: true, help: "Vendor API key, xy-realtime's variable (secret; sent as a bearer header, never logged).")
    public static let vendorTimeoutVariable = EnvironmentVariable("VENDOR_REST_TIMEOUT", default: "10s", help: "Longest wait for one vendor REST call (504 XYA029 beyond).")
    public static let barsMaxRangeVariable = EnvironmentVariable("BARS_MAX_RANGE", default: "744h", help: "Longest [from, to) of one bars query (400 XYA024 beyond); longer ones are asked in parts, each paged by next_cursor.")

    /// The values logs and errors must never show (the redactor's list).
    public var secrets: [String] {
        vendorAPIKey.map { [$0] } ?? []
    }

    /// Every variable this struct reads, in `--help` order.
    public static let variables: [EnvironmentVariable] = [
        apiHostVariable, apiPortVariable, replicasVariable, accessTTLVariable, refreshTTLVariable, rotationVariable,
        passwordMinimumVariable, argon2OpsVariable, argon2MemVariable, loginUserVariable, loginAddressVariable,
        lockoutVariable, watchlistMaxVariable, watchlistDefaultVariable, tokenSubjectsVariable, tokenMaxSubsVariable,
        issuerVariable, audienceVariable, trustedProxiesVariable, adminUsernamesVariable, adminTokenFileVariable, adminTokenTTLVariable,
        sessionsRetentionVariable, flagHistoryVariable, healthForgetVariable,
        AggregatorConfiguration.groupsVariable, AggregatorConfiguration.dynamicGroupsVariable,
        vendorRESTURLVariable, vendorAPIKeyVariable, vendorTimeoutVariable, barsMaxRangeVariable,
    ]

    /// Reads and checks every variable; the first bad one throws, naming it.
    public init(environment: EnvironmentReader) throws(ConfigurationError) {
        apiHost = try environment.requiredString(Self.apiHostVariable)
        apiPort = try environment.integer(Self.apiPortVariable, in: 0...65535)
        streamReplicas = try environment.integer(Self.replicasVariable, in: 1...5)
        accessTokenLifetime = try environment.duration(Self.accessTTLVariable)
        refreshTokenLifetime = try environment.duration(Self.refreshTTLVariable)
        signingKeyRotation = try environment.duration(Self.rotationVariable)
        guard signingKeyRotation > accessTokenLifetime else {
            throw ConfigurationError(variable: Self.rotationVariable.name, reason: "must be longer than ACCESS_TOKEN_TTL")
        }
        passwordMinimumLength = try environment.integer(Self.passwordMinimumVariable, in: 8...128)
        argon2Operations = try environment.integer(Self.argon2OpsVariable, in: PasswordHasher.minimumOperations...16)
        argon2MemoryBytes = try environment.integer(Self.argon2MemVariable, in: PasswordHasher.minimumMemoryBytes...(1 << 30))
        loginMaxFailuresPerUser = try environment.integer(Self.loginUserVariable, in: 1...1000)
        loginMaxFailuresPerAddress = try environment.integer(Self.loginAddressVariable, in: 1...100_000)
        loginLockout = try environment.duration(Self.lockoutVariable)
        watchlistMaximum = try environment.integer(Self.watchlistMaxVariable, in: 1...1000)
        watchlistDefault = try environment.list(Self.watchlistDefaultVariable)
        for ticker in watchlistDefault where !Ticker.isValid(ticker) {
            throw ConfigurationError(variable: Self.watchlistDefaultVariable.name, reason: "holds '\(ticker)', which is not a ticker")
        }
        guard watchlistDefault.count <= watchlistMaximum else {
            throw ConfigurationError(variable: Self.watchlistDefaultVariable.name, reason: "is longer than WATCHLIST_MAX")
        }
        tokenSubjects = try environment.list(Self.tokenSubjectsVariable)
        tokenMaxSubscriptions = try environment.integer(Self.tokenMaxSubsVariable, in: 1...100_000)
        issuer = try environment.string(Self.issuerVariable)
        audience = try environment.string(Self.audienceVariable)
        trustedProxies = try environment.list(Self.trustedProxiesVariable)
        for proxy in trustedProxies where IPAddressRange(proxy) == nil {
            throw ConfigurationError(
                variable: Self.trustedProxiesVariable.name, reason: "'\(proxy)' is not an IP address or CIDR range (like 10.0.0.0/8)")
        }
        let admins = try environment.list(Self.adminUsernamesVariable)
        for name in admins where !Accounts.isValidUsername(name) {
            throw ConfigurationError(variable: Self.adminUsernamesVariable.name, reason: "holds '\(name)', which is not a username")
        }
        adminUsernames = Set(admins)
        adminTokenFile = try environment.string(Self.adminTokenFileVariable)
        if let path = adminTokenFile {
            let folder = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
            guard !path.hasSuffix("/"), access(folder.isEmpty ? (path.hasPrefix("/") ? "/" : ".") : folder, W_OK) == 0 else {
                throw ConfigurationError(variable: Self.adminTokenFileVariable.name, reason: "names a file whose folder does not exist or is not writable: \(path)")
            }
        }
        adminTokenLifetime = try environment.duration(Self.adminTokenTTLVariable)
        guard adminTokenLifetime >= .seconds(60) else {
            throw ConfigurationError(variable: Self.adminTokenTTLVariable.name, reason: "must be at least 1m")
        }
        sessionsRetention = try environment.duration(Self.sessionsRetentionVariable)
        guard sessionsRetention >= .seconds(1) else {
            throw ConfigurationError(variable: Self.sessionsRetentionVariable.name, reason: "must be at least 1s")
        }
        flagHistoryMaximum = try environment.integer(Self.flagHistoryVariable, in: 1...10_000)
        healthForget = try environment.duration(Self.healthForgetVariable)
        marketDataGroups = try AggregatorConfiguration.parseGroups(try environment.requiredString(AggregatorConfiguration.groupsVariable))
        marketDataDynamicGroups = try AggregatorConfiguration.symbolGroups(marketDataGroups, environment: environment).dynamicCount
        vendorRESTURL = try environment.string(Self.vendorRESTURLVariable)
        vendorAPIKey = try environment.string(Self.vendorAPIKeyVariable)
        if let vendorRESTURL {
            guard let vendorAPIKey else {
                throw ConfigurationError(variable: Self.vendorAPIKeyVariable.name, reason: "is required when UPSTREAM_REST_URL is set")
            }
            do {
                _ = try VendorREST(baseURL: vendorRESTURL, apiKey: vendorAPIKey)
            } catch {
                throw ConfigurationError(variable: Self.vendorRESTURLVariable.name, reason: "must be http(s)://host[:port][/path]")
            }
        }
        vendorRESTTimeout = try environment.duration(Self.vendorTimeoutVariable)
        barsMaximumRange = try environment.duration(Self.barsMaxRangeVariable)
        guard barsMaximumRange >= .seconds(60) else {
            throw ConfigurationError(variable: Self.barsMaxRangeVariable.name, reason: "must be at least a minute")
        }
    }
}

/// The ticker rule the watchlist applies: one NATS subject token of capitals, digits, `.`-free
/// punctuation `-` and `_`, so a ticker can always become `xy.md.…` subjects.
public enum Ticker {
    /// 1 to 16 characters of A–Z, 0–9, `-`, `_`.
    public static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (1...16).contains(bytes.count) else { return false }
        return bytes.allSatisfy { ($0 >= 65 && $0 <= 90) || ($0 >= 48 && $0 <= 57) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }
    }
}

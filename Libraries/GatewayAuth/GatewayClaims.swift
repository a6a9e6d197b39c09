import Foundation

/// What a verified token tells the gateway about its bearer.
///
/// Only produced by `TokenVerifier` after the signature, algorithm, time and issuer/audience
/// checks passed, so holding one means the claims can be trusted.
public struct GatewayClaims: Sendable, Equatable {
    /// The token's `sub`: who connected (logs, session events, per-user quotas).
    public var subject: String
    /// The `subjects` grants; nil when absent, meaning "the whitelist".
    public var grants: [String]?
    /// The `max_subs` claim, when present.
    public var maxSubscriptions: Int?
    /// `role` and `roles` together, for the admin endpoints.
    public var roles: [String]
    public var issuer: String?
    public var audience: [String]
    public var expiresAt: Date
    public var notBefore: Date?
    /// The `kid` of the key that verified the token, if the token named one.
    public var keyID: String?
    /// The token's algorithm (`ES256`, `RS256`, `EdDSA`).
    public var algorithm: String

    public init(
        subject: String, grants: [String]?, maxSubscriptions: Int?, roles: [String], issuer: String?, audience: [String],
        expiresAt: Date, notBefore: Date?, keyID: String?, algorithm: String
    ) {
        self.subject = subject
        self.grants = grants
        self.maxSubscriptions = maxSubscriptions
        self.roles = roles
        self.issuer = issuer
        self.audience = audience
        self.expiresAt = expiresAt
        self.notBefore = notBefore
        self.keyID = keyID
        self.algorithm = algorithm
    }

    /// The subject ACL of this connection: the token's grants under `whitelist`.
    public func subjectGrants(whitelist: [String] = SubjectGrants.defaultWhitelist) -> SubjectGrants {
        SubjectGrants(whitelist: whitelist, grants: grants)
    }
}

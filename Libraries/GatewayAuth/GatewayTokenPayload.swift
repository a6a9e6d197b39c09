import Foundation
import JWTKit

/// The claims of an xy gateway token, as signed (`xy token mint`) and as decoded before checks.
///
/// `verify(using:)` deliberately checks nothing: `TokenVerifier` checks `exp`, `nbf` (with a
/// leeway and an injectable clock), `iss`, `aud` and `sub` itself, so that every refusal carries a
/// precise reason. Do not verify this payload with a bare `JWTKeyCollection`; use `TokenVerifier`.
public struct GatewayTokenPayload: JWTPayload, Equatable {
    /// Who the token is for: required.
    public var sub: SubjectClaim?
    /// The NATS subject patterns the token grants; nil means the whole whitelist.
    public var subjects: [String]?
    /// A per-connection subscription limit, when the token sets one.
    public var maxSubs: Int?
    /// A single role (`admin`), when present.
    public var role: String?
    /// Several roles, when present.
    public var roles: [String]?
    public var iss: IssuerClaim?
    public var aud: AudienceClaim?
    public var exp: ExpirationClaim?
    public var nbf: NotBeforeClaim?
    public var iat: IssuedAtClaim?

    enum CodingKeys: String, CodingKey {
        case sub, subjects, role, roles, iss, aud, exp, nbf, iat
        case maxSubs = "max_subs"
    }

    public init(
        sub: String?, subjects: [String]? = nil, maxSubs: Int? = nil, role: String? = nil, roles: [String]? = nil,
        issuer: String? = nil, audience: String? = nil, expires: Date? = nil, notBefore: Date? = nil, issuedAt: Date? = nil
    ) {
        self.sub = sub.map { SubjectClaim(value: $0) }
        self.subjects = subjects
        self.maxSubs = maxSubs
        self.role = role
        self.roles = roles
        self.iss = issuer.map { IssuerClaim(value: $0) }
        self.aud = audience.map { AudienceClaim(value: [$0]) }
        self.exp = expires.map { ExpirationClaim(value: $0) }
        self.nbf = notBefore.map { NotBeforeClaim(value: $0) }
        self.iat = issuedAt.map { IssuedAtClaim(value: $0) }
    }

    /// Checks nothing: see the type's documentation.
    public func verify(using algorithm: some JWTAlgorithm) async throws {}
}

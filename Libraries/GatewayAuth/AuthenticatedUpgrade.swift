import Foundation

/// An upgrade the gateway accepted: who it is, how it authenticated, and what to answer.
public struct AuthenticatedUpgrade: Sendable {
    /// The verified claims.
    public var claims: GatewayClaims
    /// Where the token was found (for logs; never log the token).
    public var source: TokenSource
    /// The frame encoding to use: `xy.v1.json` or `xy.v1.proto`.
    public var applicationSubprotocol: String
    /// `Sec-WebSocket-Protocol` of the 101 answer, or nil to send none. Never the token.
    public var responseSubprotocol: String?
    /// The connection's subject ACL: the token's grants under the whitelist.
    public var grants: SubjectGrants
    /// When the session must end: the token's `exp` plus the leeway the upgrade was judged with, so
    /// a token accepted within the leeway is not closed the moment its session opens.
    public var validUntil: Date

    public init(
        claims: GatewayClaims, source: TokenSource, applicationSubprotocol: String, responseSubprotocol: String?, grants: SubjectGrants,
        validUntil: Date? = nil
    ) {
        self.claims = claims
        self.validUntil = validUntil ?? claims.expiresAt
        self.source = source
        self.applicationSubprotocol = applicationSubprotocol
        self.responseSubprotocol = responseSubprotocol
        self.grants = grants
    }
}

import Foundation
import JWTKit
import XYCore

/// Verifies a gateway token and returns its claims, or refuses it with a precise reason.
///
/// The header is read and judged before jwt-kit sees the token: `alg` must be ES256, RS256 or
/// EdDSA, so `none` and every HMAC algorithm (including the classic HS256 token signed with the
/// public key PEM as secret) are refused with a clear reason whatever keys are configured. The
/// key is then chosen by `kid` and must be bound to that same `alg`; jwt-kit checks the signature;
/// this type checks `exp` (required), `nbf`, `iss`, `aud` and `sub` with `leeway` for clock skew.
public struct TokenVerifier: Sendable {
    /// The largest token accepted, in bytes: a header value cannot make the verifier decode megabytes.
    public static let maximumTokenLength = 8192

    public var keys: GatewayKeyStore
    /// The required `iss` (`JWT_ISSUER`), or nil to accept any.
    public var issuer: String?
    /// An `aud` the token must list (`JWT_AUDIENCE`), or nil to accept any.
    public var audience: String?
    /// Clock skew tolerated on `exp` and `nbf`.
    public var leeway: Duration

    public init(keys: GatewayKeyStore, issuer: String? = nil, audience: String? = nil, leeway: Duration = .seconds(30)) {
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
    }

    /// The token's claims, or XYW005 with the reason; `now` is for tests.
    public func verify(_ token: String, now: Date = Date()) async throws(GatewayAuthError) -> GatewayClaims {
        let header = try Self.header(of: token)
        let payload: GatewayTokenPayload
        do {
            let key = try await keys.key(for: header.kid, algorithm: header.alg)
            payload = try await key.collection.verify(token, as: GatewayTokenPayload.self)
        } catch let error as GatewayAuthError {
            throw error
        } catch let error as JWTError where error.errorType == .signatureVerificationFailed {
            throw .invalidToken(reason: "bad signature (alg \(header.alg)\(header.kid.map { ", kid \($0)" } ?? ""))")
        } catch let error as JWTError where error.errorType == .malformedToken {
            throw .invalidToken(reason: "malformed token: \(error.reason ?? "\(error)")")
        } catch {
            throw .invalidToken(reason: "verification failed: \(error)")
        }

        let skew = leeway.seconds
        guard let expires = payload.exp?.value else { throw .invalidToken(reason: "token has no exp") }
        guard now.timeIntervalSince(expires) < skew else {
            throw .invalidToken(reason: "expired at \(expires.formatted(.iso8601)) (leeway \(skew) s)")
        }
        if let notBefore = payload.nbf?.value, notBefore.timeIntervalSince(now) > skew {
            throw .invalidToken(reason: "not valid before \(notBefore.formatted(.iso8601)) (leeway \(skew) s)")
        }
        if let issuer, payload.iss?.value != issuer {
            throw .invalidToken(reason: "iss \(String(reflecting: payload.iss?.value ?? "absent")) is not \(String(reflecting: issuer))")
        }
        let audiences = payload.aud?.value ?? []
        if let audience, !audiences.contains(audience) {
            throw .invalidToken(reason: "aud \(audiences) does not include \(String(reflecting: audience))")
        }
        guard let subject = payload.sub?.value, !subject.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw .invalidToken(reason: "token has no sub")
        }
        if let maxSubs = payload.maxSubs, maxSubs < 0 {
            throw .invalidToken(reason: "max_subs \(maxSubs) is negative")
        }
        var roles = payload.roles ?? []
        if let role = payload.role, !roles.contains(role) { roles.insert(role, at: 0) }
        return GatewayClaims(
            subject: subject, grants: payload.subjects, maxSubscriptions: payload.maxSubs, roles: roles,
            issuer: payload.iss?.value, audience: audiences, expiresAt: expires, notBefore: payload.nbf?.value,
            keyID: header.kid, algorithm: header.alg)
    }

    /// The fields of the JOSE header the verifier decides on.
    struct Header {
        var alg: String
        var kid: String?
    }

    /// Decodes and judges the header: three parts, JSON object, an accepted `alg`, no `crit`.
    static func header(of token: String) throws(GatewayAuthError) -> Header {
        guard token.utf8.count <= maximumTokenLength else {
            throw .invalidToken(reason: "token longer than \(maximumTokenLength) bytes")
        }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw .invalidToken(reason: "malformed token: not three base64url parts")
        }
        // JWS compact serialization has no padding (RFC 7515 section 2), so a `=` is refused.
        guard !parts[0].contains("="), let bytes = Base64URL.decode(parts[0]),
            let object = try? JSONSerialization.jsonObject(with: Data(bytes)), let fields = object as? [String: Any]
        else { throw .invalidToken(reason: "malformed token: header is not base64url JSON") }
        guard let alg = fields["alg"] as? String else { throw .invalidToken(reason: "malformed token: header has no alg") }
        if alg.lowercased() == "none" {
            throw .invalidToken(reason: "alg none refused: unsigned tokens are never accepted")
        }
        if alg.uppercased().hasPrefix("HS") {
            throw .invalidToken(reason: "alg \(alg) refused: HMAC is never accepted (public-key algorithms only)")
        }
        guard VerificationKey.acceptedAlgorithms.contains(alg) else {
            throw .invalidToken(reason: "alg \(String(reflecting: alg)) refused: only ES256, RS256 and EdDSA are accepted")
        }
        if fields["crit"] != nil { throw .invalidToken(reason: "crit header refused: no extension is supported") }
        let kid = fields["kid"]
        guard kid == nil || kid is String else { throw .invalidToken(reason: "malformed token: kid is not a string") }
        return Header(alg: alg, kid: kid as? String)
    }
}

extension Duration {
    /// The duration in seconds, fractional.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

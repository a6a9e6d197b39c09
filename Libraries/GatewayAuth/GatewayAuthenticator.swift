import Foundation
import Logging
import XYCore

/// The whole check at the WebSocket upgrade, in one call for the gateway's listener.
///
/// Order: a token must be present (401 XYW001), then the Origin must be allowed (403 XYW001),
/// then the token must verify (401 XYW005). Checking presence first means a request with nothing
/// at all is told "missing token", the refusal a well-meaning client can fix.
public struct GatewayAuthenticator: Sendable {
    public var verifier: TokenVerifier
    public var originPolicy: OriginPolicy
    public var subjectWhitelist: [String]

    public init(verifier: TokenVerifier, originPolicy: OriginPolicy, subjectWhitelist: [String] = SubjectGrants.defaultWhitelist) {
        self.verifier = verifier
        self.originPolicy = originPolicy
        self.subjectWhitelist = subjectWhitelist
    }

    /// Builds the key store and verifier of `configuration`. A static key is parsed here (a bad
    /// one throws a `ConfigurationError` naming `JWT_PUBLIC_KEY`); a JWKS is fetched when
    /// first needed; call `verifier.keys.load()` to fetch it at start and fail fast.
    public init(configuration: GatewayAuthConfiguration, fetcher: JWKSFetcher = JWKSFetcher(), logger: Logger = Logger(label: "xy.gateway.auth")) async throws {
        let store: GatewayKeyStore
        switch configuration.keySource {
        case .publicKeyPEM(let pem):
            do {
                store = GatewayKeyStore(key: try await VerificationKey.publicKeyPEM(pem))
            } catch {
                throw ConfigurationError(variable: GatewayAuthConfiguration.publicKeyVariable.name, reason: "\(error)")
            }
        case .jwksURL(let url):
            store = GatewayKeyStore(
                jwksURL: url, fetcher: fetcher, refreshInterval: configuration.jwksRefreshInterval,
                minimumRefreshInterval: configuration.jwksMinimumRefreshInterval, logger: logger)
        }
        self.init(
            verifier: TokenVerifier(keys: store, issuer: configuration.issuer, audience: configuration.audience, leeway: configuration.leeway),
            originPolicy: configuration.originPolicy,
            subjectWhitelist: configuration.subjectWhitelist)
    }

    /// Authenticates an upgrade request, or throws the refusal to answer with
    /// (`httpStatus`, `jsonBody`) and to log (`code`, `reason`).
    public func authenticate(
        method: String, uri: String, headers: [(name: String, value: String)], now: Date = Date()
    ) async throws(GatewayAuthError) -> AuthenticatedUpgrade {
        guard method.uppercased() == "GET" else {
            throw .missingToken(reason: "method \(method) is not a WebSocket upgrade")
        }
        let credentials = UpgradeCredentials(method: method, uri: uri, headers: headers)
        guard let token = credentials.token, let source = credentials.source else { throw .missingToken() }
        let origin = headers.first { $0.name.caseInsensitiveCompare("Origin") == .orderedSame }?.value
        try originPolicy.check(origin: origin, hasBearerHeader: credentials.hasBearerHeader)
        let claims = try await verifier.verify(token, now: now)
        return AuthenticatedUpgrade(
            claims: claims, source: source, applicationSubprotocol: credentials.applicationSubprotocol,
            responseSubprotocol: credentials.responseSubprotocol, grants: claims.subjectGrants(whitelist: subjectWhitelist),
            validUntil: claims.expiresAt.addingTimeInterval(verifier.leeway.seconds))
    }
}

/// The `Origin` allow-list of the upgrade (`WS_ALLOWED_ORIGINS`).
///
/// A browser always sends `Origin` on a WebSocket upgrade, and a page on another site could
/// otherwise open a socket with the user's cookie; so an Origin must match an allowed one exactly
/// (scheme, host and port, as the browser writes it). A request without `Origin` comes from a
/// non-browser client and passes only if it authenticates with `Authorization: Bearer`, which a
/// browser page cannot set on a WebSocket. An empty list allows no browser origin at all.
public struct OriginPolicy: Sendable, Equatable {
    /// Allowed origins, compared exactly (`https://app.example.com`, `http://localhost:8080`).
    public var allowedOrigins: Set<String>

    public init(allowedOrigins: Set<String>) {
        self.allowedOrigins = allowedOrigins
    }

    /// Throws 403 XYW001 unless `origin` is allowed, or absent on a request with a bearer header.
    public func check(origin: String?, hasBearerHeader: Bool) throws(GatewayAuthError) {
        guard let origin else {
            guard hasBearerHeader else {
                throw .originNotAllowed(reason: "no Origin header and no Authorization: Bearer header")
            }
            return
        }
        guard allowedOrigins.contains(origin) else {
            throw .originNotAllowed(reason: "Origin \(String(reflecting: origin)) is not in WS_ALLOWED_ORIGINS")
        }
    }
}

/// Where the gateway found the token in an upgrade request, in the order it looks.
///
/// Logged with every accepted connection (never the token itself), and used by the Origin rule:
/// only a `header` token lets a request without `Origin` through, because browsers always send
/// `Origin` on a WebSocket upgrade and cannot set `Authorization` on one.
public enum TokenSource: String, Sendable, Hashable, CaseIterable {
    /// `Authorization: Bearer <token>` (non-browser clients).
    case header
    /// `Sec-WebSocket-Protocol: bearer, <token>` (browsers; the answer never echoes the token).
    case subprotocol
    /// `?token=<token>` in the request target, percent-decoded.
    case query
    /// The `xy_token` cookie.
    case cookie
}

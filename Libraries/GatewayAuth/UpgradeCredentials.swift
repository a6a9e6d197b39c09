import Foundation

/// The credentials and the subprotocol choice found in a WebSocket upgrade request.
///
/// Pure and synchronous so the listener can call it from its channel handler, and tests can feed
/// it plain values. Sources are tried in the order of the gateway's contract: `Authorization:
/// Bearer`, `Sec-WebSocket-Protocol: bearer, <t>`, `?token=`, cookie `xy_token`; the first that
/// carries a non-empty token wins.
public struct UpgradeCredentials: Sendable, Equatable {
    /// The request method; an upgrade is a `GET`.
    public var method: String
    /// The token, or nil when no source carried one.
    public var token: String?
    /// Where `token` came from; nil when there is no token.
    public var source: TokenSource?
    /// The request carried `Authorization: Bearer <token>`: the only case where a request without
    /// `Origin` may pass (a non-browser client).
    public var hasBearerHeader: Bool
    /// The application subprotocol selected from what the client offered (`xy.v1.json` by default).
    public var applicationSubprotocol: String
    /// The value for `Sec-WebSocket-Protocol` in the 101 answer: the selected application
    /// subprotocol when the client offered it or used the `bearer, <token>` form; nil otherwise
    /// (send no header). Never the token. A browser fails the connection if the answer is not one
    /// of the names it offered, so browser clients offer `["xy.v1.json", "bearer", token]`.
    public var responseSubprotocol: String?

    /// Reads the request; `headers` names are matched case-insensitively, repeated fields are all
    /// considered, `uri` is the request target (path and query).
    public init(method: String, uri: String, headers: [(name: String, value: String)]) {
        self.method = method
        func values(_ name: String) -> [String] {
            headers.filter { $0.name.caseInsensitiveCompare(name) == .orderedSame }.map(\.value)
        }

        let bearerHeader = values("Authorization").lazy.compactMap(Self.bearerToken(fromAuthorization:)).first
        let offered = WebSocketSubprotocol.elements(values("Sec-WebSocket-Protocol"))
        let subprotocolToken = Self.bearerToken(fromSubprotocols: offered)
        self.hasBearerHeader = bearerHeader != nil
        self.applicationSubprotocol = WebSocketSubprotocol.select(offered: offered)
        // Answer only with a name the client offered, except for the bare `bearer, <t>` form,
        // where the contract is to answer with the selected application subprotocol.
        self.responseSubprotocol =
            offered.contains(applicationSubprotocol) || subprotocolToken != nil ? applicationSubprotocol : nil

        let found: (token: String, source: TokenSource)? =
            if let bearerHeader {
                (bearerHeader, .header)
            } else if let subprotocolToken {
                (subprotocolToken, .subprotocol)
            } else if let queryToken = Self.queryToken(uri: uri) {
                (queryToken, .query)
            } else if let cookieToken = values("Cookie").lazy.compactMap(Self.cookieToken(fromCookieHeader:)).first {
                (cookieToken, .cookie)
            } else {
                nil
            }
        self.token = found?.token
        self.source = found?.source
    }

    /// `Bearer <token>` (scheme case-insensitive, RFC 6750); nil for other schemes or no token.
    static func bearerToken(fromAuthorization value: String) -> String? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        guard trimmed.count > 7, trimmed.prefix(7).lowercased() == "bearer " else { return nil }
        let token = trimmed.dropFirst(7).trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }

    /// The element after `bearer` in the offered subprotocols.
    static func bearerToken(fromSubprotocols offered: [String]) -> String? {
        guard let index = offered.firstIndex(where: { $0.lowercased() == WebSocketSubprotocol.bearer }),
            index + 1 < offered.count
        else { return nil }
        return offered[index + 1]
    }

    /// `token` in the query string, percent-decoded; nil when absent, empty or badly encoded.
    static func queryToken(uri: String) -> String? {
        guard let question = uri.firstIndex(of: "?") else { return nil }
        var query = uri[uri.index(after: question)...]
        if let hash = query.firstIndex(of: "#") { query = query[..<hash] }
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, parts[0] == "token" else { continue }
            guard let decoded = String(parts[1]).removingPercentEncoding, !decoded.isEmpty else { return nil }
            return decoded
        }
        return nil
    }

    /// The `xy_token` cookie of a `Cookie` header (`a=1; xy_token=…`), quotes removed.
    static func cookieToken(fromCookieHeader value: String) -> String? {
        for pair in value.split(separator: ";") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == "xy_token" else { continue }
            var token = parts[1].trimmingCharacters(in: .whitespaces)
            if token.count >= 2, token.hasPrefix("\""), token.hasSuffix("\"") { token = String(token.dropFirst().dropLast()) }
            return token.isEmpty ? nil : token
        }
        return nil
    }
}

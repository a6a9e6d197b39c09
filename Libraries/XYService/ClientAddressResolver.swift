/// Finds the client address a request is counted and logged under. Behind a reverse proxy (the
/// edge) every socket's peer is the proxy, so the address comes from the proxy's headers, but only
/// when the peer is a configured trusted proxy: anyone else could write any header. Shared by the
/// gateway (`WS_TRUSTED_PROXIES`, per-address connection caps) and xy-admin (`TRUSTED_PROXIES`,
/// the login rate limit per address).
public struct ClientAddressResolver: Sendable {
    public let trustedProxies: [IPAddressRange]

    /// - Parameter trustedProxies: addresses or CIDR ranges, already validated (entries that are
    ///   neither are left out).
    public init(trustedProxies: [String]) {
        self.trustedProxies = trustedProxies.compactMap(IPAddressRange.init)
    }

    /// Whether `peer` is one of the trusted proxies.
    public func isTrustedProxy(_ peer: String) -> Bool {
        guard !trustedProxies.isEmpty, let bytes = IPAddressRange.bytes(of: peer) else { return false }
        return trustedProxies.contains { $0.contains(bytes) }
    }

    /// The client address of a request that arrived from `peer`: the socket's peer, unless the
    /// peer is a trusted proxy; then the rightmost `X-Forwarded-For` entry that is not itself a
    /// trusted proxy (entries left of it were written by the client and prove nothing), else
    /// `X-Real-IP`, else the peer. An entry that is not an IP address stops the walk: the proxy
    /// is the last hop known for certain.
    /// - Parameters:
    ///   - forwardedFor: every `X-Forwarded-For` header value in order (each a comma-separated list).
    ///   - realIP: the first `X-Real-IP` value, if any.
    public func clientAddress(peer: String, forwardedFor: [String], realIP: String?) -> String {
        guard isTrustedProxy(peer) else { return peer }
        let forwarded = forwardedFor.flatMap { $0.split(separator: ",") }
            .map { String($0).trimmingBlanks() }
            .filter { !$0.isEmpty }
        if !forwarded.isEmpty {
            for entry in forwarded.reversed() {
                guard let bytes = IPAddressRange.bytes(of: entry), let canonical = IPAddressRange.canonical(entry) else { return peer }
                if !trustedProxies.contains(where: { $0.contains(bytes) }) { return canonical }
            }
            return IPAddressRange.canonical(forwarded[0]) ?? peer
        }
        if let real = realIP.map({ $0.trimmingBlanks() }), let canonical = IPAddressRange.canonical(real) {
            return canonical
        }
        return peer
    }
}

extension String {
    /// The string without leading and trailing spaces and tabs (header list separators).
    fileprivate func trimmingBlanks() -> String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice.removeFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice.removeLast() }
        return String(slice)
    }
}

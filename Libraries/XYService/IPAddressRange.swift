import NIOCore

/// An IP address or CIDR range (`10.0.0.0/8`, `::1`), so a trusted-proxy list (the gateway's
/// `WS_TRUSTED_PROXIES`, xy-admin's `TRUSTED_PROXIES`) can name a proxy by the subnet it is
/// deployed in (containers get addresses from a range, not a fixed one).
public struct IPAddressRange: Sendable, Equatable {
    /// Network bytes: 4 for IPv4, 16 for IPv6 (IPv4-mapped IPv6 is stored as IPv4).
    public let network: [UInt8]
    /// Leading bits that must match.
    public let prefixLength: Int

    /// Parses `address` or `address/prefix`; nil when it is neither.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let bytes = Self.bytes(of: String(parts[0])) else { return nil }
        var prefix = bytes.count * 8
        if parts.count == 2 {
            guard let parsed = Int(parts[1]), (0...prefix).contains(parsed) else { return nil }
            prefix = parsed
        }
        network = bytes
        prefixLength = prefix
    }

    /// Whether `address` (network bytes from ``bytes(of:)``) lies in this range.
    public func contains(_ address: [UInt8]) -> Bool {
        guard address.count == network.count else { return false }
        var remaining = prefixLength
        var index = 0
        while remaining > 0 {
            let mask: UInt8 = remaining >= 8 ? 0xFF : ~(0xFF >> UInt8(remaining))
            if address[index] & mask != network[index] & mask { return false }
            remaining -= 8
            index += 1
        }
        return true
    }

    /// The network bytes of a textual IPv4 or IPv6 address, IPv4-mapped IPv6 folded to IPv4
    /// (a dual-stack listener reports IPv4 peers as `::ffff:a.b.c.d`); nil when it is not one.
    public static func bytes(of text: String) -> [UInt8]? {
        guard let address = try? SocketAddress(ipAddress: text, port: 0) else { return nil }
        switch address {
        case .v4(let v4):
            return withUnsafeBytes(of: v4.address.sin_addr) { Array($0) }
        case .v6(let v6):
            let bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
                return Array(bytes[12...])
            }
            return bytes
        case .unixDomainSocket:
            return nil
        }
    }

    /// One spelling per address (`::1`, not `0:0::1`; IPv4-mapped as IPv4), so a per-address
    /// count cannot be split across spellings; nil when `text` is not an address.
    public static func canonical(_ text: String) -> String? {
        guard let bytes = bytes(of: text) else { return nil }
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        return (try? SocketAddress(ipAddress: text, port: 0))?.ipAddress
    }
}

/// One entry of the server pool, parsed from `nats://[user:pass@]host[:port]`, `tls://…` or `host:port`.
public struct NATSServerAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// `tls://` asks for TLS even when the server's INFO does not require it.
    public var tlsRequired: Bool
    public var user: String?
    public var password: String?

    public init(host: String, port: Int = 4222, tlsRequired: Bool = false, user: String? = nil, password: String? = nil) {
        self.host = host
        self.port = port
        self.tlsRequired = tlsRequired
        self.user = user
        self.password = password
    }

    /// Parses one URL; throws `invalidConfiguration` naming the bad text.
    public init(parsing text: String) throws(NATSError) {
        var rest = Substring(text.trimmingSpaces())
        var tls = false
        if let colon = rest.firstIndex(of: ":"), rest[colon...].hasPrefix("://") {
            let scheme = rest[..<colon].lowercased()
            switch scheme {
            case "nats": tls = false
            case "tls": tls = true
            default: throw NATSError(.invalidConfiguration, "unsupported URL scheme '\(scheme)' in '\(text)'")
            }
            rest = rest[rest.index(colon, offsetBy: 3)...]
        }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        var user: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                user = String(credentials[..<colon]).removingPercentEncodingIfNeeded()
                password = String(credentials[credentials.index(after: colon)...]).removingPercentEncodingIfNeeded()
            } else {
                user = String(credentials).removingPercentEncodingIfNeeded()
            }
        }
        var host = rest
        var port = 4222
        if rest.hasPrefix("[") {
            // IPv6 literal: [::1]:4222
            guard let close = rest.firstIndex(of: "]") else {
                throw NATSError(.invalidConfiguration, "bad IPv6 address in '\(text)'")
            }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()), (1...65535).contains(p) else {
                    throw NATSError(.invalidConfiguration, "bad port in '\(text)'")
                }
                port = p
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            guard let p = Int(rest[rest.index(after: colon)...]), (1...65535).contains(p) else {
                throw NATSError(.invalidConfiguration, "bad port in '\(text)'")
            }
            port = p
        }
        guard !host.isEmpty else {
            throw NATSError(.invalidConfiguration, "no host in '\(text)'")
        }
        self.init(host: String(host), port: port, tlsRequired: tls, user: user, password: password)
    }

    /// Parses a comma-separated list such as `NATS_URLS`.
    public static func parseList(_ text: String) throws(NATSError) -> [NATSServerAddress] {
        var result: [NATSServerAddress] = []
        for part in text.split(separator: ",") where !part.trimmingSpaces().isEmpty {
            result.append(try NATSServerAddress(parsing: String(part)))
        }
        guard !result.isEmpty else {
            throw NATSError(.invalidConfiguration, "no server URL in '\(text)'")
        }
        return result
    }

    /// Host and port only: credentials are never printed.
    public var description: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "\(tlsRequired ? "tls" : "nats")://\(shownHost):\(port)"
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let first = s.first, first.isWhitespace { s = s.dropFirst() }
        while let last = s.last, last.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}

extension String {
    /// Decodes `%XX` escapes in URL user info; returns the text unchanged when it has none or is malformed.
    func removingPercentEncodingIfNeeded() -> String {
        guard contains("%") else { return self }
        var bytes: [UInt8] = []
        var iterator = utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next(), let low = iterator.next(),
                      let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
                else { return self }
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

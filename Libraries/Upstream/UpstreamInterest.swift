/// The symbols xy asks the vendor for: the configured ones plus whatever users watch, added and
/// dropped at run time through `xy.ctl.upstream.subscribe` / `.unsubscribe`, never more than
/// `maximum`. With `*` configured the vendor sends everything and requests change nothing.
public struct UpstreamInterest: Sendable, Hashable {
    public private(set) var isWildcard: Bool
    public private(set) var symbols: [String] = []
    private var members: Set<String> = []
    public let maximum: Int

    /// Outcome of a change request.
    public struct Change: Sendable, Hashable {
        /// Symbols newly in (or out of) the set: what to send the vendor.
        public var changed: [String] = []
        /// Symbols refused (over the maximum, or not valid tickers).
        public var rejected: [String] = []
    }

    public init(symbols: [String], maximum: Int) {
        self.maximum = maximum
        self.isWildcard = symbols.contains("*")
        if !isWildcard {
            _ = add(symbols)
        }
    }

    /// Whether `symbol` (upper case) is in the set; always true for the wildcard.
    public func contains(_ symbol: String) -> Bool {
        isWildcard || members.contains(symbol)
    }

    /// Adds symbols up to the maximum.
    public mutating func add(_ requested: [String]) -> Change {
        var change = Change()
        guard !isWildcard else { return change }
        for raw in requested {
            let symbol = raw.uppercased()
            guard Self.isValidSymbol(symbol) else {
                change.rejected.append(raw)
                continue
            }
            guard !members.contains(symbol) else { continue }
            guard members.count < maximum else {
                change.rejected.append(symbol)
                continue
            }
            members.insert(symbol)
            symbols.append(symbol)
            change.changed.append(symbol)
        }
        return change
    }

    /// Drops symbols.
    public mutating func remove(_ requested: [String]) -> Change {
        var change = Change()
        guard !isWildcard else { return change }
        for raw in requested {
            let symbol = raw.uppercased()
            if members.remove(symbol) != nil {
                change.changed.append(symbol)
            } else if !Self.isValidSymbol(symbol) {
                change.rejected.append(raw)
            }
        }
        if !change.changed.isEmpty {
            symbols.removeAll { !members.contains($0) }
        }
        return change
    }

    /// The vendor's `params` for these symbols on these channels: `T.AAPL,Q.AAPL,AM.AAPL`
    /// (or `T.*,Q.*,AM.*` for the wildcard); nil when there is nothing to ask for.
    public func params(channels: [String], symbols subset: [String]? = nil) -> String? {
        let chosen = isWildcard && subset == nil ? ["*"] : (subset ?? symbols)
        guard !chosen.isEmpty, !channels.isEmpty else { return nil }
        var parts: [String] = []
        parts.reserveCapacity(chosen.count * channels.count)
        for symbol in chosen {
            for channel in channels {
                parts.append(channel + "." + symbol)
            }
        }
        return parts.joined(separator: ",")
    }

    /// Tickers as the vendor spells them: upper-case letters, digits, `.`, `:` and `-`, up to 32.
    static func isValidSymbol(_ symbol: String) -> Bool {
        !symbol.isEmpty && symbol.utf8.count <= 32 && symbol.utf8.allSatisfy { byte in
            (byte >= 65 && byte <= 90) || (byte >= 48 && byte <= 57) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":") || byte == UInt8(ascii: "-")
        }
    }
}

/// Which channels of which symbols one connection asked for: a channel bit mask per named symbol
/// plus wildcard bits (`T.*`), so the feed can tell what to trade and a session what to send.
public struct SimSubscriptions: Sendable, Hashable {
    /// Channels subscribed with `*`: every symbol the market trades.
    public private(set) var wildcard: UInt8 = 0
    /// Channels subscribed per symbol; a symbol whose last channel goes is removed.
    public private(set) var symbols: [String: UInt8] = [:]

    public init() {}

    /// Whether anything at all is subscribed.
    public var isEmpty: Bool { wildcard == 0 && symbols.isEmpty }

    public func matches(channel: SimChannel, symbol: String) -> Bool {
        (wildcard | (symbols[symbol] ?? 0)) & channel.bit != 0
    }

    /// The same subscriptions keyed by the market's symbol numbers, for the per-event check;
    /// `index` is nil for a symbol the market never trades (it needs no number).
    public func matcher(index: (String) -> Int?) -> Matcher {
        let resolved = symbols.compactMap { symbol, mask in index(symbol).map { ($0, mask) } }
        return Matcher(wildcard: wildcard, masks: Dictionary(resolved, uniquingKeysWith: |))
    }

    /// Applies `T.AAPL,Q.*,AM.MSFT`; returns each accepted channel key in order (for the
    /// vendor's per-channel `success` status) and each rejected one.
    public mutating func apply(params: String, subscribe: Bool) -> (accepted: [String], rejected: [String]) {
        var accepted: [String] = []
        var rejected: [String] = []
        for rawPart in params.split(separator: ",") {
            let part = String(rawPart).trimmingCharacters(in: " ")
            guard let dot = part.firstIndex(of: "."), let channel = SimChannel(wireName: String(part[..<dot])) else {
                rejected.append(part)
                continue
            }
            let symbol = String(part[part.index(after: dot)...]).uppercased()
            guard !symbol.isEmpty else {
                rejected.append(part)
                continue
            }
            if symbol == "*" {
                if subscribe { wildcard |= channel.bit } else { wildcard &= ~channel.bit }
            } else if subscribe {
                symbols[symbol, default: 0] |= channel.bit
            } else if let mask = symbols[symbol] {
                let remaining = mask & ~channel.bit
                symbols[symbol] = remaining == 0 ? nil : remaining
            }
            // A symbol the market cannot trade is accepted and never sends anything, as the vendor does.
            accepted.append(channel.wireName + "." + symbol)
        }
        return (accepted, rejected)
    }

    /// Subscriptions resolved to symbol numbers: two loads per event on the sending path.
    public struct Matcher: Sendable {
        public var wildcard: UInt8
        public var masks: [Int: UInt8]

        public init(wildcard: UInt8 = 0, masks: [Int: UInt8] = [:]) {
            self.wildcard = wildcard
            self.masks = masks
        }

        public func matches(channel: UInt8, symbolIndex: Int) -> Bool {
            let bit: UInt8 = 1 << channel
            if wildcard & bit != 0 { return true }
            return (masks[symbolIndex] ?? 0) & bit != 0
        }
    }
}

/// Which channels of which symbols one connection asked for, as a bit mask per symbol plus
/// wildcard bits, so matching an event costs two loads instead of building `T.AAPL` strings.
public struct SimSubscriptions: Sendable, Hashable {
    private var masks: [UInt8]
    private var wildcard: UInt8 = 0
    private let index: [String: Int]

    public init(symbolIndex: [String: Int]) {
        index = symbolIndex
        masks = [UInt8](repeating: 0, count: symbolIndex.count)
    }

    /// Whether anything at all is subscribed.
    public var isEmpty: Bool { wildcard == 0 && !masks.contains { $0 != 0 } }

    public func matches(channel: SimChannel, symbolIndex: Int) -> Bool {
        (wildcard | masks[symbolIndex]) & channel.bit != 0
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
            } else if let position = index[symbol] {
                if subscribe { masks[position] |= channel.bit } else { masks[position] &= ~channel.bit }
            }
            // A symbol the market does not trade is accepted and never sends anything, as the vendor does.
            accepted.append(channel.wireName + "." + symbol)
        }
        return (accepted, rejected)
    }
}

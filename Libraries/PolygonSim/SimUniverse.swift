/// One name the simulated market can trade: where its price starts and how busy it is.
public struct SimInstrument: Sendable, Hashable {
    public var symbol: String
    /// The company or fund, for people reading logs and docs (empty for a name outside the table).
    public var name: String
    /// Where the walk starts and what the snapshot calls the previous close, in cents.
    public var referenceCents: Int64
    /// Relative busyness: a symbol's share of the market's events is its activity over the total.
    public var activity: Int

    public init(symbol: String, name: String, referenceCents: Int64, activity: Int) {
        self.symbol = symbol
        self.name = name
        self.referenceCents = referenceCents
        self.activity = activity
    }
}

/// The simulator's universe: real US tickers with plausible prices (``table``), and for any other
/// well-formed ticker a made-up but stable profile derived from its name, so a user can watch
/// whatever they like and every run of the simulator agrees on what it looks like.
public enum SimUniverse {
    /// The table's names, busiest first (ties by ticker), so `--symbols N` is the N busiest.
    public static let instruments: [SimInstrument] = parse(table)

    private static let bySymbol: [String: SimInstrument] = Dictionary(uniqueKeysWithValues: instruments.map { ($0.symbol, $0) })

    /// The `count` busiest names of the table.
    public static func mostActive(_ count: Int) -> [String] {
        instruments.prefix(count).map(\.symbol)
    }

    /// The table's entry for `symbol`, or a profile derived from the name alone (not the seed):
    /// a quiet name (activity 1–5) priced between $2.25 and $312.50.
    public static func instrument(for symbol: String) -> SimInstrument {
        if let known = bySymbol[symbol] { return known }
        var random = SimRandom(seed: SimRandom.hash(symbol))
        let levels: [Int64] = [300, 700, 1500, 2500, 4000, 6500, 12_000, 25_000]
        let level = levels[Int(random.below(UInt64(levels.count)))]
        let cents = max(100, level * Int64(75 + random.below(51)) / 100)
        return SimInstrument(symbol: symbol, name: "", referenceCents: cents, activity: Int(1 + random.below(5)))
    }

    /// Whether the table lists `symbol`.
    public static func contains(_ symbol: String) -> Bool {
        bySymbol[symbol] != nil
    }

    /// A US stock ticker's shape, which the simulator trades without being told: 1 to 5 capital
    /// letters, optionally a share class (`.` and 1 or 2 capitals, as `BRK.B`). Anything else
    /// (digits, `_`, `:`) trades only when `--symbols` lists it, as a vendor knows no such name.
    public static func isWellFormed(_ symbol: String) -> Bool {
        let parts = symbol.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard let root = parts.first, (1...5).contains(root.count), parts.count <= 2 else { return false }
        let isCapital: (UInt8) -> Bool = { $0 >= 65 && $0 <= 90 }
        guard root.allSatisfy(isCapital) else { return false }
        if parts.count == 2 {
            return (1...2).contains(parts[1].count) && parts[1].allSatisfy(isCapital)
        }
        return true
    }

    /// Reads the `TICKER|name|price|activity` lines; a malformed line is a programming error the
    /// universe test catches, so it stops the simulator rather than being skipped.
    static func parse(_ text: String) -> [SimInstrument] {
        let rows = text.split(separator: "\n").map { line -> SimInstrument in
            let fields = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 4, let cents = cents(fields[2]), let activity = Int(fields[3]), activity > 0 else {
                preconditionFailure("malformed universe line: \(line)")
            }
            return SimInstrument(symbol: fields[0], name: fields[1], referenceCents: cents, activity: activity)
        }
        return rows.sorted { ($0.activity, $1.symbol) > ($1.activity, $0.symbol) }
    }

    /// `212.50` → 21250.
    private static func cents(_ text: String) -> Int64? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[1].count == 2, let dollars = Int64(parts[0]), let fraction = Int64(parts[1]), dollars >= 0 else { return nil }
        let value = dollars * 100 + fraction
        return value > 0 ? value : nil
    }
}

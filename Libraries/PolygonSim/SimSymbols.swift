/// The tickers a `*` subscription trades (`--symbols`): a list the user gives (`AAPL,MSFT`) or a
/// count, the busiest names of ``SimUniverse`` first and, past its end, generated ones (`S0001`,
/// `S0002`, …), so a benchmark can ask for thousands.
public enum SimSymbols {
    /// `AAPL,MSFT` → those symbols (upper-cased, duplicates removed); `25` → the 25 busiest names.
    public static func parse(_ text: String) -> [String]? {
        let trimmed = text.trimmingCharacters(in: " ")
        if let count = Int(trimmed) {
            guard count > 0, count <= 100_000 else { return nil }
            return mostActive(count: count)
        }
        var seen = Set<String>()
        var result: [String] = []
        for part in trimmed.split(separator: ",") {
            let symbol = String(part).trimmingCharacters(in: " ").uppercased()
            guard !symbol.isEmpty, symbol.utf8.allSatisfy(isSymbolByte) else { return nil }
            if seen.insert(symbol).inserted { result.append(symbol) }
        }
        return result.isEmpty ? nil : result
    }

    /// The `count` busiest names of the universe, then `S0001`, `S0002`, … for the rest (quiet
    /// names, activity 1–5, that trade because they are listed).
    public static func mostActive(count: Int) -> [String] {
        let known = SimUniverse.mostActive(count)
        guard count > known.count else { return known }
        return known + (1...(count - known.count)).map { index in
            let digits = String(index)
            return "S" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
        }
    }

    private static func isSymbolByte(_ byte: UInt8) -> Bool {
        (byte >= 65 && byte <= 90) || (byte >= 48 && byte <= 57) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":") || byte == UInt8(ascii: "-")
    }
}

extension String {
    func trimmingCharacters(in character: Character) -> String {
        var slice = Substring(self)
        while slice.first == character { slice = slice.dropFirst() }
        while slice.last == character { slice = slice.dropLast() }
        return String(slice)
    }
}

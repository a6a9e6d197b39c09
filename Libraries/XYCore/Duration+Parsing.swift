extension Duration {
    /// Parses a duration the way operators write one: `250us` (or `µs`), `500ms`, `1.5s`, `2m`,
    /// `1h`, or a bare number of seconds; nil for anything else, negative or not finite.
    public init?(parsing text: String) {
        let trimmed = text.trimmingSpaces()
        let units: [(suffix: String, nanoseconds: Double)] = [
            ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9),
        ]
        var number = Substring(trimmed)
        var scale = 1e9
        if let unit = units.first(where: { trimmed.hasSuffix($0.suffix) }) {
            number = number.dropLast(unit.suffix.count)
            scale = unit.nanoseconds
        }
        guard let value = Double(number), value.isFinite, value >= 0, value * scale < 9.2e18 else { return nil }
        self = .nanoseconds(Int64((value * scale).rounded()))
    }
}

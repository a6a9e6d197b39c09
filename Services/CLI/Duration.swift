import ArgumentParser
import NIOCore

/// A duration written the way operators write them: `250us`, `500ms`, `2s`, `1m`, `1h`.
struct DurationArgument: ExpressibleByArgument, Sendable, CustomStringConvertible {
    let amount: TimeAmount
    let text: String

    init?(argument: String) {
        guard let parsed = Self.parse(argument) else { return nil }
        self.amount = parsed
        self.text = argument
    }

    init(_ amount: TimeAmount, text: String) {
        self.amount = amount
        self.text = text
    }

    var description: String { text }
    var defaultValueDescription: String { text }

    static func parse(_ text: String) -> TimeAmount? {
        let units: [(String, Int64)] = [("us", 1_000), ("µs", 1_000), ("ms", 1_000_000), ("s", 1_000_000_000), ("m", 60_000_000_000), ("h", 3_600_000_000_000)]
        for (suffix, nanos) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            if suffix == "s", number.hasSuffix("m") || number.hasSuffix("u") || number.hasSuffix("µ") { continue }
            guard let value = Double(number), value >= 0, value.isFinite else { return nil }
            return .nanoseconds(Int64(value * Double(nanos)))
        }
        return nil
    }
}

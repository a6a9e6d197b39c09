import ArgumentParser
import NIOCore
import XYCore

/// A duration written the way operators write them (`250us`, `500ms`, `2s`, `1m`, `1h`), parsed by
/// the same rules as the services' duration variables.
struct DurationArgument: ExpressibleByArgument, Sendable, CustomStringConvertible {
    let amount: TimeAmount
    let text: String

    init?(argument: String) {
        guard let parsed = Duration(parsing: argument) else { return nil }
        self.amount = TimeAmount(parsed)
        self.text = argument
    }

    init(_ amount: TimeAmount, text: String) {
        self.amount = amount
        self.text = text
    }

    /// The amount as a Swift `Duration`, for clocks and `Task.sleep`.
    var duration: Duration { Duration(amount) }

    var description: String { text }
    var defaultValueDescription: String { text }
}

import ArgumentParser
import NIOCore
import XYCore

/// A duration written the way operators write them (`250us`, `500ms`, `2s`, `1m`, `1h`), parsed by
/// the same rules as the services' duration variables.
///
/// A default is written once, as the text `--help` shows (`var timeout: DurationArgument = "5s"`).
struct DurationArgument: ExpressibleByArgument, ExpressibleByStringLiteral, Sendable, CustomStringConvertible {
    let amount: TimeAmount
    let text: String

    init?(argument: String) {
        guard let parsed = Duration(parsing: argument) else { return nil }
        self.amount = TimeAmount(parsed)
        self.text = argument
    }

    /// A default in the code; a literal that does not parse is a bug the CLI tests run into at once.
    init(stringLiteral text: String) {
        guard let parsed = Self(argument: text) else { preconditionFailure("not a duration: \(text)") }
        self = parsed
    }

    /// The amount as a Swift `Duration`, for clocks and `Task.sleep`.
    var duration: Duration { Duration(amount) }

    var description: String { text }
    var defaultValueDescription: String { text }
}

import XYContracts

/// A client's subject checked against what the gateway can really subscribe to: its NATS user
/// reads `xy.md.tick.*`, `xy.md.snapshot.*` and `xy.md.bar.*` only, so a subject with more
/// tokens (`xy.md.tick.demo.extra`), a `>`, or a last token no producer could publish under is
/// refused here with the reason (XYW002) instead of being acknowledged and then refused by NATS.
enum ClientSubject {
    /// The kind of `subject`, or why it cannot be subscribed.
    static func kind(of subject: String) -> Result<TopicKind, Refusal> {
        let tokens = subject.split(separator: ".", omittingEmptySubsequences: false)
        guard tokens.count == 4, tokens[0] == "xy", tokens[1] == "md" else {
            return .failure(Refusal(message: "subjects are xy.md.tick.<GROUP>, xy.md.snapshot.<GROUP> or xy.md.bar.<SYMBOL>"))
        }
        let last = String(tokens[3])
        let kind: TopicKind
        switch tokens[2] {
        case "tick": kind = .ticks
        case "snapshot": kind = .snapshots
        case "bar": kind = .bars
        default:
            return .failure(Refusal(message: "the gateway forwards xy.md.tick.*, xy.md.snapshot.* and xy.md.bar.* subjects"))
        }
        if last == "*" { return .success(kind) }
        do throws(SubjectTokenError) {
            switch kind {
            case .ticks, .snapshots: _ = try SubjectToken.group(last)
            case .bars: _ = try SubjectToken.symbol(fromToken: last)
            }
        } catch {
            return .failure(Refusal(message: "\(subject): \(error.message)"))
        }
        return .success(kind)
    }

    /// Why a subject cannot be subscribed (answered with XYW002).
    struct Refusal: Error, Hashable {
        var message: String
    }
}

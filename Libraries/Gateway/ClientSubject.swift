import XYContracts

/// A client's subject checked against what the gateway can really subscribe to: its NATS user
/// reads `xy.md.tick.*`, `xy.md.snapshot.*` and `xy.md.bar.*` only, so a subject with more
/// tokens (`xy.md.tick.demo.extra`), a `>`, or a last token no producer could publish under is
/// refused here with the reason (XYW002) instead of being acknowledged and then refused by NATS.
enum ClientSubject {
    /// The kind of `subject`, or why it cannot be subscribed.
    static func kind(of subject: String) -> Result<TopicKind, Refusal> {
        let families: [(prefix: String, kind: TopicKind)] = [
            (Subjects.tickPrefix, .ticks), (Subjects.snapshotPrefix, .snapshots), (Subjects.barPrefix, .bars),
        ]
        guard subject.hasPrefix(Subjects.marketDataPrefix) else {
            return .failure(Refusal(message: "subjects are \(Self.forms)"))
        }
        guard let family = families.first(where: { subject.hasPrefix($0.prefix) }) else {
            return .failure(Refusal(message: "the gateway forwards \(families.map { $0.prefix + "*" }.joined(separator: ", ")) subjects"))
        }
        let kind = family.kind
        // One token after the family's prefix: more tokens (`xy.md.snapshot.get.X`) are no producer's subject.
        let last = String(subject.dropFirst(family.prefix.count))
        guard !last.contains(".") else {
            return .failure(Refusal(message: "subjects are \(Self.forms)"))
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

    /// The subjects a client may subscribe, as the refusals spell them.
    static let forms = "\(Subjects.tickPrefix)<GROUP>, \(Subjects.snapshotPrefix)<GROUP> or \(Subjects.barPrefix)<SYMBOL>"

    /// Why a subject cannot be subscribed (answered with XYW002).
    struct Refusal: Error, Hashable {
        var message: String
    }
}

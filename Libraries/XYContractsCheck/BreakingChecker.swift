import SwiftProtobuf

/// Compares two images of the contracts and reports every change that would break a consumer
/// built against the previous one, by buf's rules (what `buf breaking` does for other stacks).
public struct BreakingChecker: Sendable {
    /// The rules applied.
    public let rules: [BreakingRule]

    /// The rules of one category; FILE by default, as buf.
    public init(category: BreakingCategory = .file) {
        rules = BreakingRule.rules(in: category)
    }

    /// An explicit set of rules (tests check one rule at a time).
    public init(rules: [BreakingRule]) {
        self.rules = rules
    }

    /// Every violation, sorted by file and position; empty when `current` is compatible.
    public func check(previous: DescriptorImage, current: DescriptorImage) -> [ContractViolation] {
        var report = Report(enabled: Set(rules.map(\.id)), current: current)
        let pair = ImagePair(previous: previous, current: current)
        pair.checkFiles(&report)
        pair.checkPackages(&report)
        pair.checkMessages(&report)
        pair.checkEnums(&report)
        pair.checkServices(&report)
        return Array(Set(report.violations)).sorted()
    }
}

/// Collects violations of the enabled rules, placing each in the current image's source.
struct Report {
    let enabled: Set<String>
    let current: DescriptorImage
    private(set) var violations: [ContractViolation] = []

    init(enabled: Set<String>, current: DescriptorImage) {
        self.enabled = enabled
        self.current = current
    }

    /// Records a violation at the first of `paths` that has a place in `file` (1:1 if none does).
    mutating func add(_ rule: String, file: String, at paths: [[Int32]], _ message: String) {
        guard enabled.contains(rule) else { return }
        let place = current.location(file: file, paths)
        violations.append(ContractViolation(file: file, line: place.line, column: place.column, ruleID: rule, message: message))
    }
}

/// The previous and current images side by side; the rule families are extensions of it.
struct ImagePair {
    let previous: DescriptorImage
    let current: DescriptorImage

    /// Where to report an element that is gone: its closest surviving enclosing message in the
    /// current file, else the file itself (as buf does).
    func placeOfDeleted(nestedName: String, inFile file: String) -> [[Int32]] {
        var parts = nestedName.split(separator: ".").map(String.init)
        parts.removeLast()
        while !parts.isEmpty {
            let parent = parts.joined(separator: ".")
            if let message = current.messages.values.first(where: { $0.file == file && $0.nestedName == parent }) {
                return [message.path]
            }
            parts.removeLast()
        }
        return []
    }
}

import Foundation
import Testing
import XYContractsCheck

/// A before/after pair under `Fixtures/<name>/` and, per category, the violations it must produce
/// (`expected`: `[CATEGORY]` headers, then `file:line:column:RULE_ID` lines; none means compatible).
struct BreakingFixture: CustomStringConvertible {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static var names: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []).sorted()
    }

    let name: String
    var directory: URL { Self.root.appendingPathComponent(name) }
    var description: String { name }

    /// The expectations, in file order.
    func expectations() throws -> [(category: BreakingCategory, violations: [String])] {
        var result: [(category: BreakingCategory, violations: [String])] = []
        let text = try String(contentsOf: directory.appendingPathComponent("expected"), encoding: .utf8)
        for line in text.split(separator: "\n").map(String.init) where !line.isEmpty {
            if line.hasPrefix("[") {
                let category = try #require(BreakingCategory(rawValue: String(line.dropFirst().dropLast())), "\(name): bad header \(line)")
                result.append((category, []))
            } else {
                try #require(!result.isEmpty, "\(name): a violation before any [CATEGORY]")
                result[result.count - 1].violations.append(line)
            }
        }
        return result
    }

    /// What the checker reports for one category, in the `expected` format.
    func check(_ category: BreakingCategory) throws -> [String] {
        let compiler = ProtoCompiler()
        let before = DescriptorImage(try compiler.descriptorSet(root: directory.appendingPathComponent("before")))
        let after = DescriptorImage(try compiler.descriptorSet(root: directory.appendingPathComponent("after")))
        return BreakingChecker(category: category).check(previous: before, current: after)
            .map { "\($0.file):\($0.line):\($0.column):\($0.ruleID)" }
    }
}

@Suite("Breaking-change rules, one before/after fixture each")
struct BreakingFixtureTests {
    @Test("the fixture reports exactly the expected rule IDs at the expected places", arguments: BreakingFixture.names)
    func fixture(_ name: String) throws {
        let fixture = BreakingFixture(name: name)
        let expectations = try fixture.expectations()
        #expect(!expectations.isEmpty, "\(name) checks no category")
        for (category, expected) in expectations {
            #expect(try fixture.check(category) == expected.sorted { $0.sortKey < $1.sortKey }, "\(name) under \(category.rawValue)")
        }
    }

    @Test("every rule the checker implements is triggered by some fixture")
    func everyRuleCovered() throws {
        var triggered: Set<String> = []
        for name in BreakingFixture.names {
            for (_, violations) in try BreakingFixture(name: name).expectations() {
                triggered.formUnion(violations.compactMap { $0.split(separator: ":").last.map(String.init) })
            }
        }
        let untested = Set(BreakingRule.all.map(\.id)).subtracting(triggered)
        #expect(untested.isEmpty, "no fixture for \(untested.sorted())")
    }
}

extension String {
    /// `file:line:column:RULE` sorted as the checker sorts: file, then line and column numerically.
    var sortKey: String {
        let parts = split(separator: ":")
        guard parts.count == 4, let line = Int(parts[1]), let column = Int(parts[2]) else { return self }
        return "\(parts[0]):\(String(format: "%06d:%06d", line, column)):\(parts[3])"
    }
}

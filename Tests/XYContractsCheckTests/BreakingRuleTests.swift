import Testing
import XYContractsCheck

@Suite("Rule catalog")
struct BreakingRuleTests {
    @Test("rule IDs are unique and every rule is in at least one category")
    func unique() {
        let ids = BreakingRule.all.map(\.id)
        #expect(Set(ids).count == ids.count)
        #expect(BreakingRule.all.allSatisfy { !$0.categories.isEmpty })
    }

    @Test("the rules the issue names sit in buf's categories")
    func categories() throws {
        let expected: [String: Set<BreakingCategory>] = [
            "FILE_NO_DELETE": [.file],
            "FILE_SAME_PACKAGE": [.file, .package, .wireJSON, .wire],
            "MESSAGE_NO_DELETE": [.file],
            "FIELD_NO_DELETE": [.file, .package],
            "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED": [.wireJSON, .wire],
            "FIELD_NO_DELETE_UNLESS_NAME_RESERVED": [.wireJSON],
            "FIELD_SAME_TYPE": [.file, .package],
            "FIELD_WIRE_JSON_COMPATIBLE_TYPE": [.wireJSON],
            "FIELD_WIRE_COMPATIBLE_TYPE": [.wire],
            "FIELD_SAME_CARDINALITY": [.file, .package],
            "FIELD_SAME_NAME": [.file, .package, .wireJSON],
            "FIELD_SAME_JSON_NAME": [.file, .package, .wireJSON],
            "FIELD_SAME_ONEOF": [.file, .package, .wireJSON, .wire],
            "ENUM_NO_DELETE": [.file],
            "ENUM_VALUE_NO_DELETE": [.file, .package],
            "ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED": [.wireJSON, .wire],
            "ENUM_VALUE_NO_DELETE_UNLESS_NAME_RESERVED": [.wireJSON],
            "ENUM_VALUE_SAME_NAME": [.file, .package, .wireJSON],
            "RESERVED_MESSAGE_NO_DELETE": [.file, .package, .wireJSON, .wire],
            "RESERVED_ENUM_NO_DELETE": [.file, .package, .wireJSON, .wire],
            "SERVICE_NO_DELETE": [.file],
            "RPC_NO_DELETE": [.file, .package],
            "RPC_SAME_REQUEST_TYPE": [.file, .package, .wireJSON, .wire],
            "RPC_SAME_RESPONSE_TYPE": [.file, .package, .wireJSON, .wire],
            "RPC_SAME_CLIENT_STREAMING": [.file, .package, .wireJSON, .wire],
            "RPC_SAME_SERVER_STREAMING": [.file, .package, .wireJSON, .wire],
        ]
        for (id, categories) in expected {
            let rule = try #require(BreakingRule.named(id), "\(id) is not implemented")
            #expect(rule.categories == categories, "\(id)")
        }
    }

    @Test("WIRE is the most lenient category: every WIRE rule is also in WIRE_JSON except the wire-only relaxations")
    func leniency() {
        let wire = Set(BreakingRule.rules(in: .wire).map(\.id))
        let wireJSON = Set(BreakingRule.rules(in: .wireJSON).map(\.id))
        #expect(wire.subtracting(wireJSON) == ["FIELD_WIRE_COMPATIBLE_TYPE", "FIELD_WIRE_COMPATIBLE_CARDINALITY"])
        #expect(BreakingRule.rules(in: .file).count > BreakingRule.rules(in: .wire).count)
    }
}

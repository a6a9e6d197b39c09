/// One of buf's breaking-change rules, with buf's ID and the categories buf puts it in.
public struct BreakingRule: Hashable, Sendable {
    /// buf's rule ID, printed in every violation (`FIELD_NO_DELETE`).
    public let id: String
    /// The categories that include the rule.
    public let categories: Set<BreakingCategory>
    /// What the rule guards, in one line.
    public let purpose: String

    init(_ id: String, _ categories: Set<BreakingCategory>, _ purpose: String) {
        self.id = id
        self.categories = categories
        self.purpose = purpose
    }

    /// The rules of one category.
    public static func rules(in category: BreakingCategory) -> [BreakingRule] {
        all.filter { $0.categories.contains(category) }
    }

    /// The rule with this ID, if the checker implements it.
    public static func named(_ id: String) -> BreakingRule? {
        all.first { $0.id == id }
    }

    private static let allCategories: Set<BreakingCategory> = [.file, .package, .wireJSON, .wire]
    private static let generatedCode: Set<BreakingCategory> = [.file, .package]
    private static let generatedCodeAndJSON: Set<BreakingCategory> = [.file, .package, .wireJSON]

    /// Every rule the checker implements, with the categories of buf's v2 configuration.
    ///
    /// Not implemented: rules about Editions features (ENUM_SAME_JSON_FORMAT,
    /// MESSAGE_SAME_JSON_FORMAT, FIELD_SAME_UTF8_VALIDATION, FIELD_SAME_JAVA_UTF8_VALIDATION) and
    /// about extensions (EXTENSION_NO_DELETE, PACKAGE_EXTENSION_NO_DELETE); xy's contracts are
    /// proto3 without extensions, and the linter refuses both.
    public static let all: [BreakingRule] = [
        BreakingRule("FILE_NO_DELETE", [.file], "files are not deleted"),
        BreakingRule("MESSAGE_NO_DELETE", [.file], "messages are not deleted from a given file"),
        BreakingRule("ENUM_NO_DELETE", [.file], "enums are not deleted from a given file"),
        BreakingRule("SERVICE_NO_DELETE", [.file], "services are not deleted from a given file"),

        BreakingRule("PACKAGE_NO_DELETE", [.package], "packages are not deleted"),
        BreakingRule("PACKAGE_MESSAGE_NO_DELETE", [.package], "messages are not deleted from a given package"),
        BreakingRule("PACKAGE_ENUM_NO_DELETE", [.package], "enums are not deleted from a given package"),
        BreakingRule("PACKAGE_SERVICE_NO_DELETE", [.package], "services are not deleted from a given package"),

        BreakingRule("FILE_SAME_PACKAGE", allCategories, "files keep their package"),
        BreakingRule("FILE_SAME_SYNTAX", generatedCode, "files keep their syntax"),
        BreakingRule("FILE_SAME_CC_ENABLE_ARENAS", generatedCode, "files keep the cc_enable_arenas option"),
        BreakingRule("FILE_SAME_CC_GENERIC_SERVICES", generatedCode, "files keep the cc_generic_services option"),
        BreakingRule("FILE_SAME_CSHARP_NAMESPACE", generatedCode, "files keep the csharp_namespace option"),
        BreakingRule("FILE_SAME_GO_PACKAGE", generatedCode, "files keep the go_package option"),
        BreakingRule("FILE_SAME_JAVA_GENERIC_SERVICES", generatedCode, "files keep the java_generic_services option"),
        BreakingRule("FILE_SAME_JAVA_MULTIPLE_FILES", generatedCode, "files keep the java_multiple_files option"),
        BreakingRule("FILE_SAME_JAVA_OUTER_CLASSNAME", generatedCode, "files keep the java_outer_classname option"),
        BreakingRule("FILE_SAME_JAVA_PACKAGE", generatedCode, "files keep the java_package option"),
        BreakingRule("FILE_SAME_OBJC_CLASS_PREFIX", generatedCode, "files keep the objc_class_prefix option"),
        BreakingRule("FILE_SAME_OPTIMIZE_FOR", generatedCode, "files keep the optimize_for option"),
        BreakingRule("FILE_SAME_PHP_CLASS_PREFIX", generatedCode, "files keep the php_class_prefix option"),
        BreakingRule("FILE_SAME_PHP_METADATA_NAMESPACE", generatedCode, "files keep the php_metadata_namespace option"),
        BreakingRule("FILE_SAME_PHP_NAMESPACE", generatedCode, "files keep the php_namespace option"),
        BreakingRule("FILE_SAME_PY_GENERIC_SERVICES", generatedCode, "files keep the py_generic_services option"),
        BreakingRule("FILE_SAME_RUBY_PACKAGE", generatedCode, "files keep the ruby_package option"),
        BreakingRule("FILE_SAME_SWIFT_PREFIX", generatedCode, "files keep the swift_prefix option"),

        BreakingRule("MESSAGE_NO_REMOVE_STANDARD_DESCRIPTOR_ACCESSOR", generatedCode, "messages do not turn on no_standard_descriptor_accessor"),
        BreakingRule("MESSAGE_SAME_REQUIRED_FIELDS", allCategories, "messages neither gain nor lose required fields"),
        BreakingRule("EXTENSION_MESSAGE_NO_DELETE", generatedCode, "extension ranges are not deleted from a given message"),
        BreakingRule("ONEOF_NO_DELETE", generatedCode, "oneofs are not deleted from a given message"),
        BreakingRule("RESERVED_MESSAGE_NO_DELETE", allCategories, "reserved ranges and names are not deleted from a given message"),

        BreakingRule("FIELD_NO_DELETE", generatedCode, "fields are not deleted from a given message"),
        BreakingRule("FIELD_NO_DELETE_UNLESS_NAME_RESERVED", [.wireJSON], "fields are not deleted unless their name is reserved"),
        BreakingRule("FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED", [.wireJSON, .wire], "fields are not deleted unless their number is reserved"),
        BreakingRule("FIELD_SAME_TYPE", generatedCode, "fields keep their type"),
        BreakingRule("FIELD_WIRE_JSON_COMPATIBLE_TYPE", [.wireJSON], "fields keep a type with the same binary and JSON encoding"),
        BreakingRule("FIELD_WIRE_COMPATIBLE_TYPE", [.wire], "fields keep a type with the same binary encoding"),
        BreakingRule("FIELD_SAME_CARDINALITY", generatedCode, "fields keep their cardinality"),
        BreakingRule("FIELD_WIRE_JSON_COMPATIBLE_CARDINALITY", [.wireJSON], "fields keep a cardinality with the same binary and JSON encoding"),
        BreakingRule("FIELD_WIRE_COMPATIBLE_CARDINALITY", [.wire], "fields keep a cardinality with the same binary encoding"),
        BreakingRule("FIELD_SAME_NAME", generatedCodeAndJSON, "fields keep their name"),
        BreakingRule("FIELD_SAME_JSON_NAME", generatedCodeAndJSON, "fields keep their JSON name"),
        BreakingRule("FIELD_SAME_ONEOF", allCategories, "fields stay in, or out of, the same oneof"),
        BreakingRule("FIELD_SAME_DEFAULT", allCategories, "fields keep their default value"),
        BreakingRule("FIELD_SAME_JSTYPE", generatedCode, "fields keep the jstype option"),
        BreakingRule("FIELD_SAME_CPP_STRING_TYPE", generatedCode, "fields keep the ctype option"),

        BreakingRule("ENUM_SAME_TYPE", generatedCode, "enums stay open or closed"),
        BreakingRule("ENUM_VALUE_NO_DELETE", generatedCode, "enum values are not deleted from a given enum"),
        BreakingRule("ENUM_VALUE_NO_DELETE_UNLESS_NAME_RESERVED", [.wireJSON], "enum values are not deleted unless their name is reserved"),
        BreakingRule("ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED", [.wireJSON, .wire], "enum values are not deleted unless their number is reserved"),
        BreakingRule("ENUM_VALUE_SAME_NAME", generatedCodeAndJSON, "enum values keep their name"),
        BreakingRule("RESERVED_ENUM_NO_DELETE", allCategories, "reserved ranges and names are not deleted from a given enum"),

        BreakingRule("RPC_NO_DELETE", generatedCode, "RPCs are not deleted from a given service"),
        BreakingRule("RPC_SAME_REQUEST_TYPE", allCategories, "RPCs keep their request type"),
        BreakingRule("RPC_SAME_RESPONSE_TYPE", allCategories, "RPCs keep their response type"),
        BreakingRule("RPC_SAME_CLIENT_STREAMING", allCategories, "RPCs keep their client streaming"),
        BreakingRule("RPC_SAME_SERVER_STREAMING", allCategories, "RPCs keep their server streaming"),
        BreakingRule("RPC_SAME_IDEMPOTENCY_LEVEL", allCategories, "RPCs keep their idempotency_level option"),
    ]
}

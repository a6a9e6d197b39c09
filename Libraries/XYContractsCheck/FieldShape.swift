import SwiftProtobuf

/// What a field looks like to generated code and to the two encodings: its type (maps resolved
/// to their key and value), its cardinality, and the wire-compatibility groups the rules compare.
struct FieldShape: Equatable {
    typealias Kind = Google_Protobuf_FieldDescriptorProto.TypeEnum

    /// How many values a field holds and whether an unset one is distinguishable.
    enum Cardinality: String {
        case optionalExplicitPresence = "optional with explicit presence"
        case optionalImplicitPresence = "optional with implicit presence"
        case required
        case repeated
        case map

        /// Binary encoding cannot tell presence apart, nor a map from a repeated entry message.
        var wireGroup: Int {
            switch self {
            case .optionalExplicitPresence, .optionalImplicitPresence: 1
            case .required: 2
            case .repeated, .map: 3
            }
        }

        /// JSON writes a map as an object and a repeated field as an array.
        var wireJSONGroup: Int {
            switch self {
            case .optionalExplicitPresence, .optionalImplicitPresence: 1
            case .required: 2
            case .repeated: 3
            case .map: 4
            }
        }
    }

    let kind: Kind
    /// Fully qualified message or enum name without the leading dot; empty for scalars.
    let typeName: String
    let cardinality: Cardinality
    /// Key and value of a map field.
    let mapKey: Kind?
    let mapValue: (kind: Kind, typeName: String)?

    init(_ field: Google_Protobuf_FieldDescriptorProto, syntax: String, in image: DescriptorImage) {
        kind = field.type
        typeName = field.typeName.hasPrefix(".") ? String(field.typeName.dropFirst()) : field.typeName
        let entry = field.type == .message ? image.allMessages[typeName].flatMap { $0.isMapEntry ? $0.proto : nil } : nil
        if field.label == .repeated, let entry, let key = entry.field.first(where: { $0.number == 1 }), let value = entry.field.first(where: { $0.number == 2 }) {
            cardinality = .map
            mapKey = key.type
            let valueName = value.typeName.hasPrefix(".") ? String(value.typeName.dropFirst()) : value.typeName
            mapValue = (value.type, valueName)
        } else {
            mapKey = nil
            mapValue = nil
            switch field.label {
            case .repeated: cardinality = .repeated
            case .required: cardinality = .required
            case .optional:
                let explicit = syntax == "proto2" || field.proto3Optional || field.hasOneofIndex || field.type == .message || field.type == .group
                cardinality = explicit ? .optionalExplicitPresence : .optionalImplicitPresence
            }
        }
    }

    static func == (lhs: FieldShape, rhs: FieldShape) -> Bool {
        lhs.typeDescription == rhs.typeDescription
    }

    /// The type as a user writes it: `int64`, `xy.md.v1.Trade`, `map<string, double>`.
    var typeDescription: String {
        if let mapKey, let mapValue {
            return "map<\(Self.describe(mapKey, "")), \(Self.describe(mapValue.kind, mapValue.typeName))>"
        }
        return Self.describe(kind, typeName)
    }

    static func describe(_ kind: Kind, _ typeName: String) -> String {
        switch kind {
        case .message, .enum, .group: typeName
        default: String(describing: kind)
        }
    }

    /// Types that read each other's binary encoding (protobuf's "Updating a message type").
    /// string and bytes differ here: bytes may hold invalid UTF-8, so only string → bytes is allowed,
    /// and the caller checks that direction itself.
    static func wireGroup(_ kind: Kind) -> Int {
        switch kind {
        case .int32, .int64, .uint32, .uint64, .bool: 1
        case .sint32, .sint64: 2
        case .string: 3
        case .bytes: 4
        case .fixed32, .sfixed32: 5
        case .fixed64, .sfixed64: 6
        case .double: 7
        case .float: 8
        case .group: 9
        case .message: 10
        case .enum: 11
        }
    }

    /// Types with the same binary and the same JSON encoding: 32-bit integers are JSON numbers,
    /// 64-bit ones strings, and bool is neither.
    static func wireJSONGroup(_ kind: Kind) -> Int {
        switch kind {
        case .int32, .uint32: 1
        case .int64, .uint64: 2
        case .fixed32, .sfixed32: 3
        case .fixed64, .sfixed64: 4
        case .bool: 5
        case .sint32: 6
        case .sint64: 7
        case .string: 8
        case .bytes: 9
        case .double: 10
        case .float: 11
        case .group: 12
        case .message: 13
        case .enum: 14
        }
    }
}

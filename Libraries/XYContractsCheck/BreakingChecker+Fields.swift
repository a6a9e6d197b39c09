import SwiftProtobuf

/// Rules on a field that exists, by number, in both images.
extension ImagePair {
    func checkField(
        _ before: Google_Protobuf_FieldDescriptorProto, _ previousMessage: DescriptorImage.Message,
        _ after: Google_Protobuf_FieldDescriptorProto, _ message: DescriptorImage.Message,
        path field: [Int32], _ report: inout Report
    ) {
        let file = message.file
        let subject = "Field \"\(after.number)\" with name \"\(after.name)\" on message \"\(message.nestedName)\""
        let numbered = "Field \"\(after.number)\" on message \"\(message.nestedName)\""

        if before.name != after.name {
            report.add("FIELD_SAME_NAME", file: file, at: [field + [1], field], "\(numbered) changed name from \"\(before.name)\" to \"\(after.name)\".")
        }
        if jsonName(before) != jsonName(after) {
            report.add("FIELD_SAME_JSON_NAME", file: file, at: [field + [10], field + [1], field],
                       "\(subject) changed option \"json_name\" from \"\(jsonName(before))\" to \"\(jsonName(after))\".")
        }
        let oldShape = FieldShape(before, syntax: previousMessage.syntax, in: previous)
        let newShape = FieldShape(after, syntax: message.syntax, in: current)
        checkType(oldShape, newShape, subject: subject, file: file, at: [field + [6], field + [5], field], &report)
        checkCardinality(oldShape.cardinality, newShape.cardinality, subject: subject, file: file, at: [field + [4], field], &report)
        let oldOneof = oneofName(of: before, in: previousMessage.proto)
        let newOneof = oneofName(of: after, in: message.proto)
        if oldOneof != newOneof {
            let change = switch (oldOneof, newOneof) {
            case (nil, let new?): "moved from outside to inside oneof \"\(new)\""
            case (let old?, nil): "moved from inside oneof \"\(old)\" to outside a oneof"
            default: "moved from oneof \"\(oldOneof ?? "")\" to oneof \"\(newOneof ?? "")\""
            }
            report.add("FIELD_SAME_ONEOF", file: file, at: [field], "\(subject) \(change).")
        }
        if (before.hasDefaultValue || after.hasDefaultValue) && before.defaultValue != after.defaultValue {
            report.add("FIELD_SAME_DEFAULT", file: file, at: [field + [7], field],
                       "\(subject) changed default value from \"\(before.defaultValue)\" to \"\(after.defaultValue)\".")
        }
        if before.options.jstype != after.options.jstype {
            report.add("FIELD_SAME_JSTYPE", file: file, at: [field + [8], field],
                       "\(subject) changed option \"jstype\" from \"\(before.options.jstype)\" to \"\(after.options.jstype)\".")
        }
        if before.options.ctype != after.options.ctype {
            report.add("FIELD_SAME_CPP_STRING_TYPE", file: file, at: [field + [8], field],
                       "\(subject) changed option \"ctype\" from \"\(before.options.ctype)\" to \"\(after.options.ctype)\".")
        }
    }

    /// FIELD_SAME_TYPE for generated code; for the encodings, types in one compatibility group
    /// may replace each other (`int32` → `int64` on the wire, never `int32` → `sint32`). A map
    /// is compared by its key and value.
    private func checkType(_ old: FieldShape, _ new: FieldShape, subject: String, file: String, at paths: [[Int32]], _ report: inout Report) {
        guard old != new else { return }
        let message = "\(subject) changed type from \"\(old.typeDescription)\" to \"\(new.typeDescription)\"."
        report.add("FIELD_SAME_TYPE", file: file, at: paths, message)
        var pairs = [((old.kind, old.typeName), (new.kind, new.typeName))]
        if let oldKey = old.mapKey, let oldValue = old.mapValue, let newKey = new.mapKey, let newValue = new.mapValue {
            pairs = [((oldKey, ""), (newKey, "")), (oldValue, newValue)]
        }
        for (rule, json) in [("FIELD_WIRE_COMPATIBLE_TYPE", false), ("FIELD_WIRE_JSON_COMPATIBLE_TYPE", true)] {
            if let reason = pairs.lazy.compactMap({ incompatibility(from: $0.0, to: $0.1, json: json) }).first {
                report.add(rule, file: file, at: paths, reason.isEmpty ? message : message + " " + reason)
            }
        }
    }

    /// Why values of one type cannot be read as another on the wire (or in JSON too); nil if
    /// they can, "" when the groups alone say no. string → bytes is fine on the wire, bytes →
    /// string is not (bytes may hold invalid UTF-8). Within the message and enum groups the
    /// named type matters: another message never reads the same; another enum does when it keeps
    /// every previous number (and, for JSON, every name).
    private func incompatibility(from old: (kind: FieldShape.Kind, typeName: String), to new: (kind: FieldShape.Kind, typeName: String), json: Bool) -> String? {
        let sameGroup = json
            ? FieldShape.wireJSONGroup(old.kind) == FieldShape.wireJSONGroup(new.kind)
            : FieldShape.wireGroup(old.kind) == FieldShape.wireGroup(new.kind) || (old.kind == .string && new.kind == .bytes)
        guard sameGroup else {
            return old.kind == .bytes && new.kind == .string ? "bytes may hold invalid UTF-8, so they cannot become a string." : ""
        }
        guard old.typeName != new.typeName else { return nil }
        switch (old.kind, new.kind) {
        case (.enum, .enum):
            guard let before = previous.allEnums[old.typeName], let after = current.allEnums[new.typeName] else {
                return "The enum types cannot be compared."
            }
            let key: (Google_Protobuf_EnumValueDescriptorProto) -> String = { json ? "\($0.name)=\($0.number)" : "\($0.number)" }
            let values = Set(after.proto.value.map(key))
            guard let missing = before.proto.value.first(where: { !values.contains(key($0)) }) else { return nil }
            return "Enum \"\(new.typeName)\" has no value \(json ? "\"\(missing.name)\" = " : "")\(missing.number) of \"\(old.typeName)\"."
        case (.message, .message), (.group, .group):
            return "A different message is a different encoding."
        default:
            return nil
        }
    }

    /// FIELD_SAME_CARDINALITY and its wire relaxations (presence is invisible on the wire).
    private func checkCardinality(_ old: FieldShape.Cardinality, _ new: FieldShape.Cardinality, subject: String, file: String, at paths: [[Int32]], _ report: inout Report) {
        guard old != new else { return }
        let message = "\(subject) changed cardinality from \"\(old.rawValue)\" to \"\(new.rawValue)\"."
        report.add("FIELD_SAME_CARDINALITY", file: file, at: paths, message)
        if old.wireGroup != new.wireGroup {
            report.add("FIELD_WIRE_COMPATIBLE_CARDINALITY", file: file, at: paths, message)
        }
        if old.wireJSONGroup != new.wireJSONGroup {
            report.add("FIELD_WIRE_JSON_COMPATIBLE_CARDINALITY", file: file, at: paths, message)
        }
    }

    /// The JSON name protoc records, or the one it derives (lowerCamelCase) when it records none.
    private func jsonName(_ field: Google_Protobuf_FieldDescriptorProto) -> String {
        if field.hasJsonName { return field.jsonName }
        var result = ""
        var upperNext = false
        for character in field.name {
            if character == "_" {
                upperNext = true
            } else {
                result.append(upperNext ? Character(character.uppercased()) : character)
                upperNext = false
            }
        }
        return result
    }

    /// The user-declared oneof a field belongs to; nil outside one (proto3 `optional` does not count).
    private func oneofName(of field: Google_Protobuf_FieldDescriptorProto, in message: Google_Protobuf_DescriptorProto) -> String? {
        guard field.hasOneofIndex, !field.proto3Optional, message.oneofDecl.indices.contains(Int(field.oneofIndex)) else { return nil }
        return message.oneofDecl[Int(field.oneofIndex)].name
    }
}

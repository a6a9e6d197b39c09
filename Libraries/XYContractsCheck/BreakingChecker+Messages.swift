import SwiftProtobuf

/// Message-level rules: reserved ranges and names, oneofs, extension ranges, required fields,
/// and field deletion; changes to surviving fields are in `BreakingChecker+Fields.swift`.
extension ImagePair {
    func checkMessages(_ report: inout Report) {
        // Map entries are compared through the map fields that declare them (FieldShape).
        for previousMessage in previous.messages.values.filter({ !$0.isMapEntry }).sorted(by: { $0.fullName < $1.fullName }) {
            guard let message = current.messages[previousMessage.fullName], !message.isMapEntry else { continue }
            let name = message.nestedName
            let before = previousMessage.proto
            let after = message.proto
            let file = message.file

            if !before.options.noStandardDescriptorAccessor && after.options.noStandardDescriptorAccessor {
                report.add("MESSAGE_NO_REMOVE_STANDARD_DESCRIPTOR_ACCESSOR", file: file, at: [message.path + [7], message.path],
                           "Message \"\(name)\" changed option \"no_standard_descriptor_accessor\" from \"false\" to \"true\".")
            }
            checkRequiredFields(previousMessage, message, &report)
            checkReserved(previousMessage, message, &report)

            let extensionRanges = after.extensionRange.map { NumberRange(start: $0.start, end: $0.end - 1) }
            for range in before.extensionRange.map({ NumberRange(start: $0.start, end: $0.end - 1) }) where !range.isCovered(by: extensionRanges) {
                report.add("EXTENSION_MESSAGE_NO_DELETE", file: file, at: [message.path],
                           "Previously present extension range \"\(range)\" on message \"\(name)\" was deleted.")
            }

            let oneofs = Set(after.oneofDecl.indices.filter { !after.isSyntheticOneof($0) }.map { after.oneofDecl[$0].name })
            for index in before.oneofDecl.indices where !before.isSyntheticOneof(index) && !oneofs.contains(before.oneofDecl[index].name) {
                report.add("ONEOF_NO_DELETE", file: file, at: [message.path],
                           "Previously present oneof \"\(before.oneofDecl[index].name)\" on message \"\(name)\" was deleted.")
            }

            let fields = Dictionary(after.field.enumerated().map { ($1.number, $0) }, uniquingKeysWith: { first, _ in first })
            for previousField in before.field.sorted(by: { $0.number < $1.number }) {
                if let index = fields[previousField.number] {
                    checkField(previousField, previousMessage, after.field[index], message, path: message.path + [2, Int32(index)], &report)
                } else {
                    checkDeletedField(previousField, from: message, &report)
                }
            }
        }
    }

    /// FIELD_NO_DELETE and its two relaxations: a deletion is fine on the wire once the number
    /// (and, for JSON, the name) is reserved, so no later field can reuse it.
    private func checkDeletedField(_ field: Google_Protobuf_FieldDescriptorProto, from message: DescriptorImage.Message, _ report: inout Report) {
        let description = "Previously present field \"\(field.number)\" with name \"\(field.name)\" on message \"\(message.nestedName)\" was deleted"
        report.add("FIELD_NO_DELETE", file: message.file, at: [message.path], description + ".")
        let reservedNumbers = message.proto.reservedRange.map { NumberRange(start: $0.start, end: $0.end - 1) }
        if !NumberRange(start: field.number, end: field.number).isCovered(by: reservedNumbers) {
            report.add("FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED", file: message.file, at: [message.path],
                       description + " without reserving the number \"\(field.number)\".")
        }
        if !message.proto.reservedName.contains(field.name) {
            report.add("FIELD_NO_DELETE_UNLESS_NAME_RESERVED", file: message.file, at: [message.path],
                       description + " without reserving the name \"\(field.name)\".")
        }
    }

    /// MESSAGE_SAME_REQUIRED_FIELDS: a new required field fails old writers, a removed one old readers.
    private func checkRequiredFields(_ previousMessage: DescriptorImage.Message, _ message: DescriptorImage.Message, _ report: inout Report) {
        let before = Set(previousMessage.proto.field.filter { $0.label == .required }.map(\.number))
        for (index, field) in message.proto.field.enumerated() where field.label == .required && !before.contains(field.number) {
            report.add("MESSAGE_SAME_REQUIRED_FIELDS", file: message.file, at: [message.path + [2, Int32(index)], message.path],
                       "Message \"\(message.nestedName)\" had required field \"\(field.number)\" added.")
        }
        let after = Set(message.proto.field.filter { $0.label == .required }.map(\.number))
        for number in before.subtracting(after).sorted() {
            report.add("MESSAGE_SAME_REQUIRED_FIELDS", file: message.file, at: [message.path],
                       "Message \"\(message.nestedName)\" had required field \"\(number)\" deleted.")
        }
    }

    /// RESERVED_MESSAGE_NO_DELETE: a reservation may be merged into a wider one, never dropped.
    private func checkReserved(_ previousMessage: DescriptorImage.Message, _ message: DescriptorImage.Message, _ report: inout Report) {
        let ranges = message.proto.reservedRange.map { NumberRange(start: $0.start, end: $0.end - 1) }
        for range in previousMessage.proto.reservedRange.map({ NumberRange(start: $0.start, end: $0.end - 1) }) where !range.isCovered(by: ranges) {
            report.add("RESERVED_MESSAGE_NO_DELETE", file: message.file, at: [message.path],
                       "Previously present reserved range \"\(range)\" on message \"\(message.nestedName)\" was deleted.")
        }
        for name in previousMessage.proto.reservedName where !message.proto.reservedName.contains(name) {
            report.add("RESERVED_MESSAGE_NO_DELETE", file: message.file, at: [message.path],
                       "Previously present reserved name \"\(name)\" on message \"\(message.nestedName)\" was deleted.")
        }
    }
}

/// An inclusive range of field or enum value numbers.
struct NumberRange: CustomStringConvertible {
    let start: Int32
    let end: Int32

    /// True when every number of the range is in one of `ranges` (reservations may be merged or split).
    func isCovered(by ranges: [NumberRange]) -> Bool {
        var next = Int64(start)
        let sorted = ranges.sorted { $0.start < $1.start }
        for range in sorted where Int64(range.start) <= next && Int64(range.end) >= next {
            next = Int64(range.end) + 1
            if next > Int64(end) { return true }
        }
        return next > Int64(end)
    }

    var description: String { start == end ? "\(start)" : "[\(start),\(end)]" }
}

import SwiftProtobuf

/// Enum rules: open or closed, values by number, reserved ranges and names.
extension ImagePair {
    func checkEnums(_ report: inout Report) {
        for previousEnum in previous.enums.values.sorted(by: { $0.fullName < $1.fullName }) {
            guard let enumeration = current.enums[previousEnum.fullName] else { continue }
            let name = enumeration.nestedName
            let file = enumeration.file
            let before = previousEnum.proto
            let after = enumeration.proto

            // proto2 enums are closed (unknown numbers are kept aside), proto3 enums open.
            let wasClosed = previousEnum.syntax == "proto2"
            let isClosed = enumeration.syntax == "proto2"
            if wasClosed != isClosed {
                report.add("ENUM_SAME_TYPE", file: file, at: [enumeration.path],
                           "Enum \"\(name)\" changed from \(wasClosed ? "closed" : "open") to \(isClosed ? "closed" : "open").")
            }

            let reservedNumbers = after.reservedRange.map { NumberRange(start: $0.start, end: $0.end) }
            let valuesByNumber = Dictionary(grouping: after.value.indices, by: { after.value[$0].number })
            let previousByNumber = Dictionary(grouping: before.value, by: \.number)
            for number in previousByNumber.keys.sorted() {
                let previousNames = previousByNumber[number, default: []].map(\.name)
                guard let indices = valuesByNumber[number] else {
                    let description = "Previously present enum value \"\(number)\" on enum \"\(name)\" was deleted"
                    report.add("ENUM_VALUE_NO_DELETE", file: file, at: [enumeration.path], description + ".")
                    if !NumberRange(start: number, end: number).isCovered(by: reservedNumbers) {
                        report.add("ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED", file: file, at: [enumeration.path],
                                   description + " without reserving the number \"\(number)\".")
                    }
                    for previousName in previousNames where !after.reservedName.contains(previousName) {
                        report.add("ENUM_VALUE_NO_DELETE_UNLESS_NAME_RESERVED", file: file, at: [enumeration.path],
                                   description + " without reserving the name \"\(previousName)\".")
                    }
                    continue
                }
                let names = indices.map { after.value[$0].name }
                if !Set(previousNames).isSubset(of: names) {
                    let path = enumeration.path + [2, Int32(indices[0])]
                    report.add("ENUM_VALUE_SAME_NAME", file: file, at: [path + [1], path],
                               "Enum value \"\(number)\" on enum \"\(name)\" changed name from \"\(previousNames.joined(separator: ", "))\" to \"\(names.joined(separator: ", "))\".")
                }
            }

            for range in before.reservedRange.map({ NumberRange(start: $0.start, end: $0.end) }) where !range.isCovered(by: reservedNumbers) {
                report.add("RESERVED_ENUM_NO_DELETE", file: file, at: [enumeration.path],
                           "Previously present reserved range \"\(range)\" on enum \"\(name)\" was deleted.")
            }
            for reserved in before.reservedName where !after.reservedName.contains(reserved) {
                report.add("RESERVED_ENUM_NO_DELETE", file: file, at: [enumeration.path],
                           "Previously present reserved name \"\(reserved)\" on enum \"\(name)\" was deleted.")
            }
        }
    }
}

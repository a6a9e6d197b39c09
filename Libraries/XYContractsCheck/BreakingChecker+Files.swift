import SwiftProtobuf

/// File- and package-level rules: deletions that break generated code, package, syntax and options.
extension ImagePair {
    /// One file option buf compares, with its field number in `FileOptions` (for the source place).
    private struct FileOption: Sendable {
        let rule: String
        let name: String
        let number: Int32
        let value: @Sendable (Google_Protobuf_FileOptions) -> String
    }

    private static let fileOptions: [FileOption] = [
        FileOption(rule: "FILE_SAME_JAVA_PACKAGE", name: "java_package", number: 1) { $0.javaPackage },
        FileOption(rule: "FILE_SAME_JAVA_OUTER_CLASSNAME", name: "java_outer_classname", number: 8) { $0.javaOuterClassname },
        FileOption(rule: "FILE_SAME_OPTIMIZE_FOR", name: "optimize_for", number: 9) { "\($0.optimizeFor)" },
        FileOption(rule: "FILE_SAME_JAVA_MULTIPLE_FILES", name: "java_multiple_files", number: 10) { "\($0.javaMultipleFiles)" },
        FileOption(rule: "FILE_SAME_GO_PACKAGE", name: "go_package", number: 11) { $0.goPackage },
        FileOption(rule: "FILE_SAME_CC_GENERIC_SERVICES", name: "cc_generic_services", number: 16) { "\($0.ccGenericServices)" },
        FileOption(rule: "FILE_SAME_JAVA_GENERIC_SERVICES", name: "java_generic_services", number: 17) { "\($0.javaGenericServices)" },
        FileOption(rule: "FILE_SAME_PY_GENERIC_SERVICES", name: "py_generic_services", number: 18) { "\($0.pyGenericServices)" },
        FileOption(rule: "FILE_SAME_CC_ENABLE_ARENAS", name: "cc_enable_arenas", number: 31) { "\($0.ccEnableArenas)" },
        FileOption(rule: "FILE_SAME_OBJC_CLASS_PREFIX", name: "objc_class_prefix", number: 36) { $0.objcClassPrefix },
        FileOption(rule: "FILE_SAME_CSHARP_NAMESPACE", name: "csharp_namespace", number: 37) { $0.csharpNamespace },
        FileOption(rule: "FILE_SAME_SWIFT_PREFIX", name: "swift_prefix", number: 39) { $0.swiftPrefix },
        FileOption(rule: "FILE_SAME_PHP_CLASS_PREFIX", name: "php_class_prefix", number: 40) { $0.phpClassPrefix },
        FileOption(rule: "FILE_SAME_PHP_NAMESPACE", name: "php_namespace", number: 41) { $0.phpNamespace },
        FileOption(rule: "FILE_SAME_PHP_METADATA_NAMESPACE", name: "php_metadata_namespace", number: 44) { $0.phpMetadataNamespace },
        FileOption(rule: "FILE_SAME_RUBY_PACKAGE", name: "ruby_package", number: 45) { $0.rubyPackage },
    ]

    func checkFiles(_ report: inout Report) {
        for name in previous.fileNames {
            guard let previousFile = previous.files[name] else { continue }
            guard let file = current.files[name] else {
                report.add("FILE_NO_DELETE", file: name, at: [], "Previously present file \"\(name)\" was deleted.")
                continue
            }
            if previousFile.package != file.package {
                report.add("FILE_SAME_PACKAGE", file: name, at: [[2]],
                           "File package changed from \"\(previousFile.package)\" to \"\(file.package)\".")
            }
            if previousFile.syntax != file.syntax {
                report.add("FILE_SAME_SYNTAX", file: name, at: [[12]],
                           "File syntax changed from \"\(previousFile.syntax)\" to \"\(file.syntax)\".")
            }
            for option in Self.fileOptions {
                let before = option.value(previousFile.proto.options)
                let after = option.value(file.proto.options)
                if before != after {
                    report.add(option.rule, file: name, at: [[8, option.number], [8]],
                               "File option \"\(option.name)\" changed from \"\(before)\" to \"\(after)\".")
                }
            }
            checkDeletedDeclarations(in: name, &report)
        }
    }

    /// MESSAGE_NO_DELETE, ENUM_NO_DELETE and SERVICE_NO_DELETE: what a file declared, it still declares.
    private func checkDeletedDeclarations(in file: String, _ report: inout Report) {
        let messages = Set(current.messages.values.filter { $0.file == file }.map(\.nestedName))
        for message in previous.messages.values.filter({ $0.file == file && !$0.isMapEntry }).sorted(by: { $0.nestedName < $1.nestedName })
        where !messages.contains(message.nestedName) {
            report.add("MESSAGE_NO_DELETE", file: file, at: placeOfDeleted(nestedName: message.nestedName, inFile: file),
                       "Previously present message \"\(message.nestedName)\" was deleted from file.")
        }
        let enums = Set(current.enums.values.filter { $0.file == file }.map(\.nestedName))
        for enumeration in previous.enums.values.filter({ $0.file == file }).sorted(by: { $0.nestedName < $1.nestedName })
        where !enums.contains(enumeration.nestedName) {
            report.add("ENUM_NO_DELETE", file: file, at: placeOfDeleted(nestedName: enumeration.nestedName, inFile: file),
                       "Previously present enum \"\(enumeration.nestedName)\" was deleted from file.")
        }
        let services = Set(current.files[file]?.proto.service.map(\.name) ?? [])
        for service in previous.files[file]?.proto.service ?? [] where !services.contains(service.name) {
            report.add("SERVICE_NO_DELETE", file: file, at: [], "Previously present service \"\(service.name)\" was deleted from file.")
        }
    }

    /// PACKAGE_*_NO_DELETE: declarations may move between the files of a package, not leave it.
    func checkPackages(_ report: inout Report) {
        let currentPackages = current.packages
        for (package, previousFiles) in previous.packages.sorted(by: { $0.key < $1.key }) {
            guard let files = currentPackages[package], let anchor = files.first else {
                report.add("PACKAGE_NO_DELETE", file: previousFiles[0], at: [], "Previously present package \"\(package)\" was deleted.")
                continue
            }
            for message in previous.messages.values.filter({ previous.files[$0.file]?.package == package && !$0.isMapEntry }).sorted(by: { $0.fullName < $1.fullName })
            where current.messages[message.fullName] == nil {
                // A nested message is reported at its surviving parent, wherever in the package that now is.
                let place = files.lazy.map { (file: $0, paths: placeOfDeleted(nestedName: message.nestedName, inFile: $0)) }
                    .first { !$0.paths.isEmpty } ?? (anchor, [])
                report.add("PACKAGE_MESSAGE_NO_DELETE", file: place.file, at: place.paths,
                           "Previously present message \"\(message.fullName)\" was deleted from package \"\(package)\".")
            }
            for enumeration in previous.enums.values.filter({ previous.files[$0.file]?.package == package }).sorted(by: { $0.fullName < $1.fullName })
            where current.enums[enumeration.fullName] == nil {
                report.add("PACKAGE_ENUM_NO_DELETE", file: anchor, at: [],
                           "Previously present enum \"\(enumeration.fullName)\" was deleted from package \"\(package)\".")
            }
            for service in previous.services.values.filter({ previous.files[$0.file]?.package == package }).sorted(by: { $0.fullName < $1.fullName })
            where current.services[service.fullName] == nil {
                report.add("PACKAGE_SERVICE_NO_DELETE", file: anchor, at: [],
                           "Previously present service \"\(service.fullName)\" was deleted from package \"\(package)\".")
            }
        }
    }
}

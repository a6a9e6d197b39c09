import SwiftProtobuf

/// The style the contracts keep: buf's STANDARD lint rules (same IDs), plus xy's own
/// conventions (proto3 only, one time representation), so `make contracts-lint` needs no buf.
public struct ContractsLinter: Sendable {
    /// Every rule this linter applies, buf's first, then xy's (`XY_…`).
    public static let ruleIDs: [String] = [
        "PACKAGE_DEFINED", "PACKAGE_DIRECTORY_MATCH", "PACKAGE_LOWER_SNAKE_CASE", "PACKAGE_VERSION_SUFFIX",
        "PACKAGE_SAME_DIRECTORY", "DIRECTORY_SAME_PACKAGE", "FILE_LOWER_SNAKE_CASE", "SYNTAX_SPECIFIED",
        "IMPORT_NO_PUBLIC", "IMPORT_NO_WEAK",
        "MESSAGE_PASCAL_CASE", "FIELD_LOWER_SNAKE_CASE", "FIELD_NOT_REQUIRED", "ONEOF_LOWER_SNAKE_CASE",
        "ENUM_PASCAL_CASE", "ENUM_VALUE_UPPER_SNAKE_CASE", "ENUM_VALUE_PREFIX", "ENUM_ZERO_VALUE_SUFFIX",
        "ENUM_FIRST_VALUE_ZERO", "ENUM_NO_ALLOW_ALIAS",
        "SERVICE_PASCAL_CASE", "SERVICE_SUFFIX", "RPC_PASCAL_CASE", "RPC_REQUEST_STANDARD_NAME",
        "RPC_RESPONSE_STANDARD_NAME", "RPC_REQUEST_RESPONSE_UNIQUE",
        "XY_SYNTAX_PROTO3", "XY_NO_EXTENSIONS", "XY_TIME_NS",
    ]

    public init() {}

    /// Every finding in the image's files, sorted by file and position.
    public func lint(_ image: DescriptorImage) -> [ContractViolation] {
        var report = Report(enabled: Set(Self.ruleIDs), current: image)
        lintPackages(image, &report)
        for name in image.fileNames {
            guard let file = image.files[name] else { continue }
            lintFile(file, &report)
        }
        for message in image.messages.values where !message.isMapEntry {
            lintMessage(message, &report)
        }
        for enumeration in image.enums.values {
            lintEnum(enumeration, &report)
        }
        lintServices(image, &report)
        return report.violations.sorted()
    }

    private func lintPackages(_ image: DescriptorImage, _ report: inout Report) {
        for (package, files) in image.packages where !package.isEmpty {
            let directories = Set(files.map(directory(of:)))
            if directories.count > 1 {
                for file in files {
                    report.add("PACKAGE_SAME_DIRECTORY", file: file, at: [[2]],
                               "Package \"\(package)\" is spread over directories \(directories.sorted().joined(separator: ", ")).")
                }
            }
        }
        let byDirectory = Dictionary(grouping: image.files.values, by: { directory(of: $0.name) })
        for (directory, files) in byDirectory {
            let packages = Set(files.map(\.package))
            guard packages.count > 1 else { continue }
            for file in files {
                report.add("DIRECTORY_SAME_PACKAGE", file: file.name, at: [[2]],
                           "Directory \"\(directory)\" holds packages \(packages.sorted().map { "\"\($0)\"" }.joined(separator: ", ")).")
            }
        }
    }

    private func lintFile(_ file: DescriptorImage.File, _ report: inout Report) {
        let name = file.name
        let base = String(name.split(separator: "/").last ?? Substring(name)).replacingOccurrences(of: ".proto", with: "")
        if !Naming.isLowerSnakeCase(base) {
            report.add("FILE_LOWER_SNAKE_CASE", file: name, at: [], "Filename \"\(base).proto\" should be lower_snake_case.proto.")
        }
        // protoc leaves `syntax` empty for proto2 even when it is written; the statement's source place tells.
        if file.proto.syntax.isEmpty && file.spans[[12]] == nil {
            report.add("SYNTAX_SPECIFIED", file: name, at: [], "Files must have a syntax explicitly specified.")
        }
        if file.syntax != "proto3" {
            report.add("XY_SYNTAX_PROTO3", file: name, at: [[12]], "xy contracts are proto3; this file is \(file.syntax).")
        }
        for index in file.proto.publicDependency {
            report.add("IMPORT_NO_PUBLIC", file: name, at: [[10, index], [3, index]], "Import \"\(file.proto.dependency[Int(index)])\" must not be public.")
        }
        for index in file.proto.weakDependency {
            report.add("IMPORT_NO_WEAK", file: name, at: [[11, index], [3, index]], "Import \"\(file.proto.dependency[Int(index)])\" must not be weak.")
        }
        if !file.proto.extension.isEmpty {
            report.add("XY_NO_EXTENSIONS", file: name, at: [[7, 0]], "xy contracts declare no extensions; add a field instead.")
        }
        lintPackage(file, &report)
    }

    private func lintPackage(_ file: DescriptorImage.File, _ report: inout Report) {
        let name = file.name
        let package = file.package
        guard !package.isEmpty else {
            report.add("PACKAGE_DEFINED", file: name, at: [], "Files must have a package defined.")
            return
        }
        let components = package.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if !components.allSatisfy(Naming.isLowerSnakeCase) {
            report.add("PACKAGE_LOWER_SNAKE_CASE", file: name, at: [[2]], "Package name \"\(package)\" should be lower_snake.case.")
        }
        if !Naming.isVersion(components.last ?? "") {
            report.add("PACKAGE_VERSION_SUFFIX", file: name, at: [[2]],
                       "Package name \"\(package)\" should be suffixed with a correctly formed version, such as \"\(package).v1\".")
        }
        let expected = components.joined(separator: "/")
        if directory(of: name) != expected {
            report.add("PACKAGE_DIRECTORY_MATCH", file: name, at: [[2]],
                       "Files with package \"\(package)\" must be within a directory \"\(expected)\" relative to the contracts root but were in directory \"\(directory(of: name))\".")
        }
    }

    private func lintMessage(_ message: DescriptorImage.Message, _ report: inout Report) {
        let file = message.file
        let simpleName = message.proto.name
        if !Naming.isPascalCase(simpleName) {
            report.add("MESSAGE_PASCAL_CASE", file: file, at: [message.path + [1], message.path], "Message name \"\(simpleName)\" should be PascalCase.")
        }
        for (index, field) in message.proto.field.enumerated() {
            let path = message.path + [2, Int32(index)]
            if !Naming.isLowerSnakeCase(field.name) {
                report.add("FIELD_LOWER_SNAKE_CASE", file: file, at: [path + [1], path],
                           "Field name \"\(message.nestedName).\(field.name)\" should be lower_snake_case.")
            }
            if field.label == .required {
                report.add("FIELD_NOT_REQUIRED", file: file, at: [path + [4], path],
                           "Field named \"\(field.name)\" should not be required.")
            }
            lintTime(field, in: message, path: path, &report)
        }
        for (index, oneof) in message.proto.oneofDecl.enumerated() where !Naming.isLowerSnakeCase(oneof.name) && !message.proto.isSyntheticOneof(index) {
            let path = message.path + [8, Int32(index)]
            report.add("ONEOF_LOWER_SNAKE_CASE", file: file, at: [path + [1], path],
                       "Oneof name \"\(oneof.name)\" should be lower_snake_case.")
        }
        if !message.proto.extension.isEmpty || !message.proto.extensionRange.isEmpty {
            report.add("XY_NO_EXTENSIONS", file: file, at: [message.path], "xy contracts declare no extensions; add a field instead.")
        }
    }

    /// XY_TIME_NS: one representation of time, int64 nanoseconds since the Unix epoch in `*_ns`.
    private func lintTime(_ field: Google_Protobuf_FieldDescriptorProto, in message: DescriptorImage.Message, path: [Int32], _ report: inout Report) {
        let name = field.name
        let qualified = "\(message.nestedName).\(name)"
        if field.typeName == ".google.protobuf.Timestamp" || field.typeName == ".google.protobuf.Duration" {
            report.add("XY_TIME_NS", file: message.file, at: [path + [6], path],
                       "Field \"\(qualified)\" uses \(field.typeName.dropFirst()); xy writes times and durations as int64 nanoseconds in a field named *_ns.")
        } else if name.hasSuffix("_ns") && field.type != .int64 {
            report.add("XY_TIME_NS", file: message.file, at: [path + [5], path],
                       "Field \"\(qualified)\" is named *_ns, so it holds int64 nanoseconds, not \(field.type).")
        } else if name == "time" || name == "timestamp" || name.hasSuffix("_time") || name.hasSuffix("_at") || name.hasSuffix("_timestamp") {
            report.add("XY_TIME_NS", file: message.file, at: [path + [1], path],
                       "Field \"\(qualified)\" holds a time: name it \(name)_ns and make it int64 nanoseconds since the Unix epoch.")
        }
    }

    private func lintEnum(_ enumeration: DescriptorImage.Enum, _ report: inout Report) {
        let file = enumeration.file
        let proto = enumeration.proto
        if !Naming.isPascalCase(proto.name) {
            report.add("ENUM_PASCAL_CASE", file: file, at: [enumeration.path + [1], enumeration.path], "Enum name \"\(proto.name)\" should be PascalCase.")
        }
        if proto.options.allowAlias {
            report.add("ENUM_NO_ALLOW_ALIAS", file: file, at: [enumeration.path + [3], enumeration.path],
                       "Enum option \"allow_alias\" on enum \"\(proto.name)\" must be false.")
        }
        let prefix = Naming.upperSnakeCase(proto.name) + "_"
        for (index, value) in proto.value.enumerated() {
            let path = enumeration.path + [2, Int32(index)]
            if !Naming.isUpperSnakeCase(value.name) {
                report.add("ENUM_VALUE_UPPER_SNAKE_CASE", file: file, at: [path + [1], path],
                           "Enum value name \"\(value.name)\" should be UPPER_SNAKE_CASE.")
            }
            if !value.name.hasPrefix(prefix) {
                report.add("ENUM_VALUE_PREFIX", file: file, at: [path + [1], path],
                           "Enum value name \"\(value.name)\" should be prefix with \"\(prefix)\".")
            }
        }
        if let first = proto.value.first {
            let path = enumeration.path + [2, 0]
            if first.number != 0 {
                report.add("ENUM_FIRST_VALUE_ZERO", file: file, at: [path + [2], path],
                           "First enum value \"\(first.name)\" should have a numeric value of 0.")
            }
            if first.number == 0, first.name != prefix + "UNSPECIFIED" {
                report.add("ENUM_ZERO_VALUE_SUFFIX", file: file, at: [path + [1], path],
                           "Enum zero value name \"\(first.name)\" should be suffixed with \"_UNSPECIFIED\".")
            }
        }
    }

    private func lintServices(_ image: DescriptorImage, _ report: inout Report) {
        var uses: [String: Int] = [:]
        for service in image.services.values {
            for method in service.proto.method {
                uses[method.inputType, default: 0] += 1
                uses[method.outputType, default: 0] += 1
            }
        }
        for service in image.services.values {
            let file = service.file
            let name = service.proto.name
            if !Naming.isPascalCase(name) {
                report.add("SERVICE_PASCAL_CASE", file: file, at: [service.path + [1], service.path], "Service name \"\(name)\" should be PascalCase.")
            }
            if !name.hasSuffix("Service") {
                report.add("SERVICE_SUFFIX", file: file, at: [service.path + [1], service.path], "Service name \"\(name)\" should be suffixed with \"Service\".")
            }
            let bare = name.hasSuffix("Service") ? String(name.dropLast("Service".count)) : name
            for (index, method) in service.proto.method.enumerated() {
                let path = service.path + [2, Int32(index)]
                if !Naming.isPascalCase(method.name) {
                    report.add("RPC_PASCAL_CASE", file: file, at: [path + [1], path], "RPC name \"\(method.name)\" should be PascalCase.")
                }
                let request = String(method.inputType.split(separator: ".").last ?? "")
                if request != method.name + "Request" && request != bare + method.name + "Request" {
                    report.add("RPC_REQUEST_STANDARD_NAME", file: file, at: [path + [2], path],
                               "RPC request type \"\(request)\" should be named \"\(method.name)Request\" or \"\(bare)\(method.name)Request\".")
                }
                let response = String(method.outputType.split(separator: ".").last ?? "")
                if response != method.name + "Response" && response != bare + method.name + "Response" {
                    report.add("RPC_RESPONSE_STANDARD_NAME", file: file, at: [path + [3], path],
                               "RPC response type \"\(response)\" should be named \"\(method.name)Response\" or \"\(bare)\(method.name)Response\".")
                }
                if uses[method.inputType, default: 0] > 1 || uses[method.outputType, default: 0] > 1 {
                    report.add("RPC_REQUEST_RESPONSE_UNIQUE", file: file, at: [path],
                               "RPC \"\(method.name)\" has a request or response type that another RPC also uses.")
                }
            }
        }
    }

    private func directory(of file: String) -> String {
        file.split(separator: "/").dropLast().joined(separator: "/")
    }
}

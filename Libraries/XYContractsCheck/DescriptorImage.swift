import SwiftProtobuf

/// A FileDescriptorSet indexed the way the rules look things up: files by path, types by fully
/// qualified name, and every element's place in its file (from `--include_source_info`).
public struct DescriptorImage: Sendable {
    /// A `.proto` file of the image.
    struct File: Sendable {
        let proto: Google_Protobuf_FileDescriptorProto
        /// Source spans by descriptor path (see `SourceCodeInfo.Location.path`).
        let spans: [[Int32]: [Int32]]

        var name: String { proto.name }
        var package: String { proto.package }
        /// proto2 when protoc leaves `syntax` empty.
        var syntax: String { proto.syntax.isEmpty ? "proto2" : proto.syntax }
    }

    /// A message, nested or not, and where it is declared.
    struct Message: Sendable {
        let proto: Google_Protobuf_DescriptorProto
        let fullName: String
        /// Name within the file's package (`Outer.Inner`).
        let nestedName: String
        let file: String
        let path: [Int32]
        let syntax: String

        var isMapEntry: Bool { proto.options.mapEntry }
    }

    /// An enum, nested or not, and where it is declared.
    struct Enum: Sendable {
        let proto: Google_Protobuf_EnumDescriptorProto
        let fullName: String
        let nestedName: String
        let file: String
        let path: [Int32]
        let syntax: String
    }

    /// A service and where it is declared.
    struct Service: Sendable {
        let proto: Google_Protobuf_ServiceDescriptorProto
        let fullName: String
        let file: String
        let path: [Int32]
    }

    /// Files under check, by protoc name; imports (well-known types) are left out, as buf does.
    let files: [String: File]
    let messages: [String: Message]
    let enums: [String: Enum]
    let services: [String: Service]
    /// Every message and enum, imports included, to resolve field types.
    let allMessages: [String: Message]
    let allEnums: [String: Enum]

    /// Indexes a descriptor set; `isImport` tells which files are dependencies rather than contracts.
    public init(_ set: Google_Protobuf_FileDescriptorSet, isImport: (String) -> Bool = DescriptorImage.isWellKnownImport) {
        var files: [String: File] = [:]
        var collector = Collector()
        for proto in set.file {
            var spans: [[Int32]: [Int32]] = [:]
            for location in proto.sourceCodeInfo.location where spans[location.path] == nil {
                spans[location.path] = location.span
            }
            let file = File(proto: proto, spans: spans)
            let imported = isImport(proto.name)
            if !imported { files[proto.name] = file }
            collector.collect(file, imported: imported)
        }
        self.files = files
        self.messages = collector.messages
        self.enums = collector.enums
        self.services = collector.services
        self.allMessages = collector.allMessages
        self.allEnums = collector.allEnums
    }

    /// protoc's own include tree (`google/protobuf/…`): the only files xy's contracts may import from outside.
    public static func isWellKnownImport(_ name: String) -> Bool {
        name.hasPrefix("google/protobuf/")
    }

    /// The names of the files under check, sorted.
    public var fileNames: [String] { files.keys.sorted() }

    /// Packages and the files that declare them.
    var packages: [String: [String]] {
        Dictionary(grouping: files.values, by: \.package).mapValues { $0.map(\.name).sorted() }
    }

    /// The 1-based place of an element: the first of `paths` that has a span in `name`, else 1:1.
    func location(file name: String, _ paths: [[Int32]]) -> (line: Int, column: Int) {
        guard let spans = files[name]?.spans,
              let span = paths.lazy.compactMap({ spans[$0] }).first(where: { $0.count >= 2 })
        else { return (1, 1) }
        return (Int(span[0]) + 1, Int(span[1]) + 1)
    }

    /// Walks files into the name tables.
    private struct Collector {
        var messages: [String: Message] = [:]
        var enums: [String: Enum] = [:]
        var services: [String: Service] = [:]
        var allMessages: [String: Message] = [:]
        var allEnums: [String: Enum] = [:]

        mutating func collect(_ file: File, imported: Bool) {
            let prefix = file.package.isEmpty ? "" : file.package + "."
            for (index, message) in file.proto.messageType.enumerated() {
                collect(message, nestedName: message.name, prefix: prefix, file: file, path: [4, Int32(index)], imported: imported)
            }
            for (index, enumeration) in file.proto.enumType.enumerated() {
                add(Enum(proto: enumeration, fullName: prefix + enumeration.name, nestedName: enumeration.name,
                         file: file.name, path: [5, Int32(index)], syntax: file.syntax), imported: imported)
            }
            guard !imported else { return }
            for (index, service) in file.proto.service.enumerated() {
                services[prefix + service.name] = Service(proto: service, fullName: prefix + service.name, file: file.name, path: [6, Int32(index)])
            }
        }

        private mutating func collect(_ proto: Google_Protobuf_DescriptorProto, nestedName: String, prefix: String, file: File, path: [Int32], imported: Bool) {
            let message = Message(proto: proto, fullName: prefix + nestedName, nestedName: nestedName, file: file.name, path: path, syntax: file.syntax)
            allMessages[message.fullName] = message
            if !imported { messages[message.fullName] = message }
            for (index, nested) in proto.nestedType.enumerated() {
                collect(nested, nestedName: nestedName + "." + nested.name, prefix: prefix, file: file, path: path + [3, Int32(index)], imported: imported)
            }
            for (index, enumeration) in proto.enumType.enumerated() {
                add(Enum(proto: enumeration, fullName: prefix + nestedName + "." + enumeration.name, nestedName: nestedName + "." + enumeration.name,
                         file: file.name, path: path + [4, Int32(index)], syntax: file.syntax), imported: imported)
            }
        }

        private mutating func add(_ enumeration: Enum, imported: Bool) {
            allEnums[enumeration.fullName] = enumeration
            if !imported { enums[enumeration.fullName] = enumeration }
        }
    }
}

extension Google_Protobuf_DescriptorProto {
    /// True for the oneof protoc makes for a proto3 `optional` field: not a oneof a user declared.
    func isSyntheticOneof(_ index: Int) -> Bool {
        field.contains { $0.hasOneofIndex && Int($0.oneofIndex) == index && $0.proto3Optional }
    }
}

import Foundation
import SwiftProtobuf

/// Debian's `protoc`, run to turn a folder of `.proto` files into a FileDescriptorSet with
/// imports and source info (the same image buf builds), which the checker and linter read.
public struct ProtoCompiler: Sendable {
    /// `protoc` on `PATH`, or a path to one.
    public var protoc: String

    public init(protoc: String = "protoc") {
        self.protoc = protoc
    }

    /// The `.proto` files under `root`, relative to it and sorted (protoc names files this way).
    public static func protoFiles(under root: URL) -> [String] {
        let base = root.standardizedFileURL.path
        guard let walker = FileManager.default.enumerator(atPath: base) else { return [] }
        var files: [String] = []
        while let relative = walker.nextObject() as? String {
            if relative.hasSuffix(".proto") { files.append(relative) }
        }
        return files.sorted()
    }

    /// Compiles every `.proto` under `root` (its own include path); fails with protoc's message.
    public func descriptorSet(root: URL) throws(ContractsCheckError) -> Google_Protobuf_FileDescriptorSet {
        let bytes = try descriptorSetBytes(root: root)
        do {
            return try Google_Protobuf_FileDescriptorSet(serializedBytes: bytes)
        } catch {
            throw ContractsCheckError(.protocFailed, "protoc wrote a descriptor set that does not decode: \(error)")
        }
    }

    /// The serialized descriptor set, as `contracts accept` stores it in `baseline.binpb`.
    public func descriptorSetBytes(root: URL) throws(ContractsCheckError) -> Data {
        let files = Self.protoFiles(under: root)
        guard !files.isEmpty else {
            throw ContractsCheckError(.noContracts, "no .proto files under \(root.path)")
        }
        guard let executable = Subprocess.find(protoc) else {
            throw ContractsCheckError(.protocFailed, "\(protoc) not found: apt-get install -y protobuf-compiler")
        }
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("xy-contracts-\(UUID().uuidString).binpb")
        defer { try? FileManager.default.removeItem(at: output) }
        let result = try Subprocess.run(executable, [
            "--proto_path=.", "--include_imports", "--include_source_info", "--descriptor_set_out=\(output.path)",
        ] + files, in: root)
        guard result.status == 0 else {
            let message = result.errors.trimmingCharacters(in: .whitespacesAndNewlines)
            throw ContractsCheckError(.protocFailed, "protoc failed (exit \(result.status)) in \(root.path):\n\(message)")
        }
        do {
            return try Data(contentsOf: output)
        } catch {
            throw ContractsCheckError(.protocFailed, "protoc wrote no descriptor set: \(error)")
        }
    }
}

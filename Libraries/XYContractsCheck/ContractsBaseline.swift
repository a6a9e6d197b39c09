import Foundation
import SwiftProtobuf

/// Where the previous contracts come from: the committed descriptor set (`Contracts/baseline.binpb`,
/// moved on deliberately by `make contracts-accept`) or the `.proto` files at a git ref.
public enum ContractsBaseline {
    /// The baseline file's name inside the contracts root.
    public static let fileName = "baseline.binpb"

    /// Reads a committed descriptor set.
    public static func load(file: URL) throws(ContractsCheckError) -> Google_Protobuf_FileDescriptorSet {
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw ContractsCheckError(.baselineUnreadable, "baseline \(file.path) not found: run 'make contracts-accept' to record the current contracts as the baseline")
        }
        do {
            return try Google_Protobuf_FileDescriptorSet(serializedBytes: try Data(contentsOf: file))
        } catch {
            throw ContractsCheckError(.baselineUnreadable, "baseline \(file.path) is not a FileDescriptorSet: \(error)")
        }
    }

    /// Compiles the `.proto` files under `root` as they were at `ref` (read with `git show`).
    /// A ref from before the contracts existed gives an empty set: nothing to break.
    public static func compile(gitRef ref: String, root: URL, compiler: ProtoCompiler) throws(ContractsCheckError) -> Google_Protobuf_FileDescriptorSet {
        guard let git = Subprocess.find("git") else {
            throw ContractsCheckError(.gitFailed, "git not found: apt-get install -y git")
        }
        let top = try runGit(git, ["rev-parse", "--show-toplevel"], in: root).trimmingCharacters(in: .newlines)
        let prefix = try runGit(git, ["rev-parse", "--show-prefix"], in: root).trimmingCharacters(in: .newlines)
        let topURL = URL(fileURLWithPath: top)
        let verify = try Subprocess.run(git, ["rev-parse", "--verify", "--quiet", "--end-of-options", ref + "^{commit}"], in: topURL)
        guard verify.status == 0 else {
            throw ContractsCheckError(.gitFailed, "unknown git ref '\(ref)' in \(top)")
        }
        let listing = try runGit(git, ["ls-tree", "-r", "-z", "--name-only", "--end-of-options", ref, "--", prefix.isEmpty ? "." : prefix], in: topURL)
        let protos = listing.split(separator: "\0").map(String.init).filter { $0.hasSuffix(".proto") }
        guard !protos.isEmpty else { return Google_Protobuf_FileDescriptorSet() }

        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("xy-baseline-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        for path in protos {
            let shown = try Subprocess.run(git, ["show", "--end-of-options", "\(ref):\(path)"], in: topURL)
            guard shown.status == 0 else {
                throw ContractsCheckError(.gitFailed, "git show \(ref):\(path) failed: \(shown.errors.trimmingCharacters(in: .whitespacesAndNewlines))")
            }
            let destination = scratch.appendingPathComponent(String(path.dropFirst(prefix.count)))
            do {
                try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
                try shown.output.write(to: destination)
            } catch {
                throw ContractsCheckError(.io, "could not write \(destination.path): \(error)")
            }
        }
        return try compiler.descriptorSet(root: scratch)
    }

    private static func runGit(_ git: String, _ arguments: [String], in directory: URL) throws(ContractsCheckError) -> String {
        let result = try Subprocess.run(git, arguments, in: directory)
        guard result.status == 0 else {
            throw ContractsCheckError(.gitFailed, "git \(arguments.joined(separator: " ")) failed in \(directory.path): \(result.errors.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return String(decoding: result.output, as: UTF8.self)
    }
}

import Foundation
import Testing

/// The repository, found from this file, and a scratch copy of its `Contracts/`.
enum Repository {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let contracts = root.appendingPathComponent("Contracts")
    static let baseline = contracts.appendingPathComponent("baseline.binpb")

    /// A copy of `Contracts/` (without its baseline) in a temporary folder; the caller removes it.
    static func scratchContracts() throws -> URL {
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("xy-cli-contracts-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: contracts, to: copy)
        try? FileManager.default.removeItem(at: copy.appendingPathComponent("baseline.binpb"))
        return copy
    }
}

@Suite("xy contracts")
struct ContractsCLITests {
    @Test("the repository's contracts match the committed baseline and lint clean")
    func repositoryIsCompatible() async throws {
        let check = try await XYCommand.run(["contracts", "check", "--root", Repository.contracts.path])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.isEmpty)
        let lint = try await XYCommand.run(["contracts", "lint", "--root", Repository.contracts.path])
        #expect(lint.status == 0, "\(lint.stdout)\(lint.stderr)")
    }

    @Test("deleting a field in a scratch copy exits 1 with FIELD_NO_DELETE at the message's line")
    func deletedField() async throws {
        let scratch = try Repository.scratchContracts()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let tick = scratch.appendingPathComponent("xy/md/v1/tick.proto")
        let text = try String(contentsOf: tick, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let messageLine = try #require(lines.firstIndex { $0.hasPrefix("message SymbolTick") }) + 1
        try text.replacingOccurrences(of: "  double bid_size = 5;\n", with: "").write(to: tick, atomically: true, encoding: .utf8)

        let result = try await XYCommand.run(["contracts", "check", "--root", scratch.path, "--baseline", Repository.baseline.path])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stdout == "\(scratch.path)/xy/md/v1/tick.proto:\(messageLine):1:FIELD_NO_DELETE:Previously present field \"5\" with name \"bid_size\" on message \"SymbolTick\" was deleted.\n")

        // Under WIRE the deletion is fine once number and name are reserved.
        try text.replacingOccurrences(of: "  double bid_size = 5;\n", with: "  reserved 5;\n  reserved \"bid_size\";\n").write(to: tick, atomically: true, encoding: .utf8)
        let wire = try await XYCommand.run(["contracts", "check", "--root", scratch.path, "--baseline", Repository.baseline.path, "--category", "WIRE"])
        #expect(wire.status == 0, "\(wire.stdout)")
        let file = try await XYCommand.run(["contracts", "check", "--root", scratch.path, "--baseline", Repository.baseline.path])
        #expect(file.status == 1)
    }

    @Test("accept writes the baseline the next check passes against")
    func accept() async throws {
        let scratch = try Repository.scratchContracts()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let accept = try await XYCommand.run(["contracts", "accept", "--root", scratch.path])
        #expect(accept.status == 0, "\(accept.stderr)")
        #expect(FileManager.default.fileExists(atPath: scratch.appendingPathComponent("baseline.binpb").path))
        let check = try await XYCommand.run(["contracts", "check", "--root", scratch.path])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    }

    @Test("bad input exits 2 with a clear message", arguments: [
        (["--baseline", "/nonexistent/baseline.binpb"], "make contracts-accept"),
        (["--against", "refs/heads/no-such-branch-xy"], "unknown git ref 'refs/heads/no-such-branch-xy'"),
        (["--category", "STRICT"], "unknown --category 'STRICT'"),
        (["--against", "HEAD", "--baseline", "x.binpb"], "exclude each other"),
        (["--no-such-flag"], "--no-such-flag"),
    ])
    func badInput(_ arguments: [String], _ message: String) async throws {
        let result = try await XYCommand.run(["contracts", "check", "--root", Repository.contracts.path] + arguments)
        #expect(result.status == 2, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test("a .proto that does not compile exits 2 with protoc's message")
    func protocError() async throws {
        let scratch = try Repository.scratchContracts()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let bar = scratch.appendingPathComponent("xy/md/v1/bar.proto")
        try (try String(contentsOf: bar, encoding: .utf8)).replacingOccurrences(of: "bool sealed = 12;", with: "bool sealed = ;")
            .write(to: bar, atomically: true, encoding: .utf8)
        let result = try await XYCommand.run(["contracts", "check", "--root", scratch.path, "--baseline", Repository.baseline.path])
        #expect(result.status == 2)
        #expect(result.stderr.contains("xy/md/v1/bar.proto:"), "\(result.stderr)")
        #expect(result.stderr.contains("protoc failed"))
    }
}

import Foundation
import Testing
@testable import XYContractsCheck

@Suite("Checking a contracts folder: baselines, git refs, bad input")
struct ContractsWorkspaceTests {
    @Test("a deleted field is reported with buf's rule ID, the message's line and a readable message")
    func deletedField() throws {
        let scratch = try ScratchContracts(["fx/v1/trade.proto": tradeV1])
        let workspace = ContractsWorkspace(root: scratch.root)
        try workspace.accept()
        try scratch.write(["fx/v1/trade.proto": tradeV1.replacingOccurrences(of: "  double size = 2;\n", with: "")])
        let violations = try workspace.check(against: .file(workspace.baselineFile), category: .file)
        #expect(violations.map(\.description) == [
            "fx/v1/trade.proto:5:1:FIELD_NO_DELETE:Previously present field \"2\" with name \"size\" on message \"Trade\" was deleted.",
        ])
    }

    @Test("accepting the current contracts makes the check pass, and the baseline is a descriptor set with source info")
    func acceptThenCheck() throws {
        let scratch = try ScratchContracts(["fx/v1/trade.proto": tradeV1])
        let workspace = ContractsWorkspace(root: scratch.root)
        let written = try workspace.accept()
        #expect(written.lastPathComponent == "baseline.binpb")
        let baseline = try ContractsBaseline.load(file: written)
        #expect(baseline.file.map(\.name) == ["fx/v1/trade.proto"])
        #expect(baseline.file[0].sourceCodeInfo.location.count > 0)
        #expect(try workspace.check(against: .file(written), category: .file).isEmpty)
    }

    @Test("against a git ref: the committed files are the baseline, the working tree the current state")
    func gitRef() throws {
        let scratch = try ScratchContracts(["Contracts/fx/v1/trade.proto": tradeV1, "README": "x"])
        try scratch.git("init", "-q")
        try scratch.git("add", ".")
        try scratch.git("commit", "-q", "-m", "contracts")
        try scratch.write(["Contracts/fx/v1/trade.proto": tradeV1.replacingOccurrences(of: "double size = 2;", with: "string size = 2;")])
        let workspace = ContractsWorkspace(root: scratch.root.appendingPathComponent("Contracts"))
        let violations = try workspace.check(against: .gitRef("HEAD"), category: .wire)
        #expect(violations.map { "\($0.file):\($0.line):\($0.column):\($0.ruleID)" } == ["fx/v1/trade.proto:7:3:FIELD_WIRE_COMPATIBLE_TYPE"])
        #expect(try workspace.check(against: .gitRef("HEAD"), category: .file).map(\.ruleID) == ["FIELD_SAME_TYPE"])
    }

    @Test("a ref from before the contracts existed is an empty baseline: nothing can break")
    func refWithoutContracts() throws {
        let scratch = try ScratchContracts(["README": "x"])
        try scratch.git("init", "-q")
        try scratch.git("add", ".")
        try scratch.git("commit", "-q", "-m", "first")
        try scratch.write(["Contracts/fx/v1/trade.proto": tradeV1])
        let workspace = ContractsWorkspace(root: scratch.root.appendingPathComponent("Contracts"))
        #expect(try workspace.check(against: .gitRef("HEAD"), category: .file).isEmpty)
    }

    @Test("an unknown git ref is an error that names it")
    func unknownRef() throws {
        let scratch = try ScratchContracts(["fx/v1/trade.proto": tradeV1])
        try scratch.git("init", "-q")
        try scratch.git("add", ".")
        try scratch.git("commit", "-q", "-m", "contracts")
        let workspace = ContractsWorkspace(root: scratch.root)
        let error = #expect(throws: ContractsCheckError.self) {
            try workspace.check(against: .gitRef("no-such-branch"), category: .file)
        }
        #expect(error?.code == .gitFailed)
        #expect(error?.message.contains("unknown git ref 'no-such-branch'") == true)
    }

    @Test("a missing baseline says how to make one")
    func missingBaseline() throws {
        let scratch = try ScratchContracts(["fx/v1/trade.proto": tradeV1])
        let workspace = ContractsWorkspace(root: scratch.root)
        let error = #expect(throws: ContractsCheckError.self) {
            try workspace.check(against: .file(workspace.baselineFile), category: .file)
        }
        #expect(error?.code == .baselineUnreadable)
        #expect(error?.message.contains("make contracts-accept") == true)
    }

    @Test("a baseline that is not a descriptor set is refused")
    func corruptBaseline() throws {
        let scratch = try ScratchContracts(["fx/v1/trade.proto": tradeV1, "baseline.binpb": "not protobuf at all"])
        let workspace = ContractsWorkspace(root: scratch.root)
        let error = #expect(throws: ContractsCheckError.self) {
            try workspace.check(against: .file(workspace.baselineFile), category: .file)
        }
        #expect(error?.code == .baselineUnreadable)
    }

    @Test("a .proto that does not compile fails with protoc's own message, file and line")
    func protocError() throws {
        let scratch = try ScratchContracts(["fx/v1/trade.proto": tradeV1.replacingOccurrences(of: "double size = 2;", with: "double size = ;")])
        let error = #expect(throws: ContractsCheckError.self) {
            try ContractsWorkspace(root: scratch.root).currentImage()
        }
        #expect(error?.code == .protocFailed)
        #expect(error?.message.contains("fx/v1/trade.proto:7:") == true, "\(error?.message ?? "")")
    }

    @Test("a folder without .proto files is an error, not a pass")
    func noContracts() throws {
        let scratch = try ScratchContracts(["README": "x"])
        let error = #expect(throws: ContractsCheckError.self) {
            try ContractsWorkspace(root: scratch.root).currentImage()
        }
        #expect(error?.code == .noContracts)
    }

    @Test("a missing protoc is reported with the package to install")
    func missingProtoc() throws {
        let scratch = try ScratchContracts(["fx/v1/trade.proto": tradeV1])
        let error = #expect(throws: ContractsCheckError.self) {
            try ContractsWorkspace(root: scratch.root, compiler: ProtoCompiler(protoc: "/nonexistent/protoc")).currentImage()
        }
        #expect(error?.message.contains("protobuf-compiler") == true)
    }

    @Test("the repository's contracts are compatible with themselves and lint clean")
    func repositoryContracts() throws {
        let workspace = ContractsWorkspace(root: RepositoryContracts.root)
        let image = try workspace.currentImage()
        #expect(image.fileNames.count >= 7)
        #expect(BreakingChecker(category: .file).check(previous: image, current: image).isEmpty)
        #expect(try workspace.lint().map(\.description) == [])
    }
}

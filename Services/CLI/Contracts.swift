import ArgumentParser
import Foundation
import XYContractsCheck

/// `xy contracts`: the Protobuf contracts' compatibility check, lint and baseline.
///
/// Exit status: 0 compatible (or clean), 1 something breaks (or a lint finding), 2 a usage or
/// protoc error, with protoc's message.
struct Contracts: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check Protobuf contracts for breaking changes (buf's rules), lint them, accept a baseline.",
        subcommands: [Check.self, Lint.self, Accept.self]
    )

    /// Usage errors of `xy contracts …` exit 2 (ArgumentParser's own default is 64), as the checker promises.
    static func exitOnUsageError(_ error: Error) {
        guard CommandLine.arguments.dropFirst().first == "contracts", exitCode(for: error) == .validationFailure else { return }
        FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
        Foundation.exit(2)
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Report changes that break consumers of the previous contracts.",
            discussion: "Prints path/file.proto:LINE:COL:RULE_ID:message per violation. Baseline: --against a git ref, --baseline a descriptor set, or <root>/baseline.binpb."
        )

        @OptionGroup var location: ContractsLocation
        @Option(help: "Compare with the .proto files at this git ref.") var against: String?
        @Option(help: "Compare with this FileDescriptorSet (default: <root>/baseline.binpb).") var baseline: String?
        @Option(help: "Rule category: FILE, PACKAGE, WIRE_JSON or WIRE.") var category: String = BreakingCategory.file.rawValue

        func run() throws {
            guard let category = BreakingCategory(rawValue: category.uppercased()) else {
                throw location.usage("unknown --category '\(self.category)': use FILE, PACKAGE, WIRE_JSON or WIRE")
            }
            if against != nil, baseline != nil { throw location.usage("--against and --baseline exclude each other") }
            let workspace = location.workspace
            let source: ContractsWorkspace.Baseline = if let against {
                .gitRef(against)
            } else {
                .file(baseline.map { URL(fileURLWithPath: $0) } ?? workspace.baselineFile)
            }
            try location.report(try location.run { try workspace.check(against: source, category: category) })
        }
    }

    struct Lint: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the contracts' style: buf's STANDARD rules plus xy's (proto3, times as int64 *_ns)."
        )

        @OptionGroup var location: ContractsLocation

        func run() throws {
            let workspace = location.workspace
            try location.report(try location.run { try workspace.lint() })
        }
    }

    struct Accept: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record the current contracts as the baseline (<root>/baseline.binpb) that CI checks against."
        )

        @OptionGroup var location: ContractsLocation

        func run() throws {
            let workspace = location.workspace
            let written = try location.run { try workspace.accept() }
            printLine("xy contracts: baseline written to \(location.display(written.lastPathComponent))")
        }
    }
}

/// Where the contracts are, shared by the `contracts` subcommands.
struct ContractsLocation: ParsableArguments {
    @Option(help: "Folder of the .proto files; protoc's include path.") var root: String = "Contracts"
    @Option(help: "The protoc to run.") var protoc: String = "protoc"

    var workspace: ContractsWorkspace {
        ContractsWorkspace(root: URL(fileURLWithPath: root), compiler: ProtoCompiler(protoc: protoc))
    }

    /// A file under the root as the user wrote the root, so printed paths open from where they ran.
    func display(_ file: String) -> String {
        root.hasSuffix("/") ? root + file : root + "/" + file
    }

    /// Runs a checker operation; its errors print on stderr and exit 2.
    func run<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as ContractsCheckError {
            FileHandle.standardError.write(Data("xy contracts: \(error.message)\n".utf8))
            throw ExitCode(2)
        }
    }

    /// Prints one line per violation; exit 1 when there is any.
    func report(_ violations: [ContractViolation]) throws {
        for violation in violations {
            printLine(violation.formatted(pathPrefix: display("")))
        }
        if !violations.isEmpty { throw ExitCode(1) }
    }

    /// A usage error: printed, exit 2.
    func usage(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("xy contracts: \(message)\n".utf8))
        return ExitCode(2)
    }
}

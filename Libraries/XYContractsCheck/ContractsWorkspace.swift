import Foundation
import SwiftProtobuf

/// A contracts root (`Contracts/`) and the operations on it that `xy contracts` offers: check
/// against a baseline, lint, and accept the current state as the new baseline.
public struct ContractsWorkspace: Sendable {
    /// What the current contracts are compared with.
    public enum Baseline: Sendable {
        /// A committed descriptor set (`Contracts/baseline.binpb` by default).
        case file(URL)
        /// The `.proto` files at a git ref (`main`, `HEAD~1`, a tag).
        case gitRef(String)
    }

    /// The folder protoc uses as its include path; `.proto` names are relative to it.
    public let root: URL
    public var compiler: ProtoCompiler

    public init(root: URL, compiler: ProtoCompiler = ProtoCompiler()) {
        self.root = root.standardizedFileURL
        self.compiler = compiler
    }

    /// `<root>/baseline.binpb`, the baseline CI checks against.
    public var baselineFile: URL { root.appendingPathComponent(ContractsBaseline.fileName) }

    /// The current `.proto` files, compiled.
    public func currentImage() throws(ContractsCheckError) -> DescriptorImage {
        DescriptorImage(try compiler.descriptorSet(root: root))
    }

    /// The previous contracts, compiled or read.
    public func baselineImage(_ baseline: Baseline) throws(ContractsCheckError) -> DescriptorImage {
        switch baseline {
        case .file(let url): DescriptorImage(try ContractsBaseline.load(file: url))
        case .gitRef(let ref): DescriptorImage(try ContractsBaseline.compile(gitRef: ref, root: root, compiler: compiler))
        }
    }

    /// Breaking changes from the baseline to the current files under the rules of `category`.
    public func check(against baseline: Baseline, category: BreakingCategory) throws(ContractsCheckError) -> [ContractViolation] {
        let previous = try baselineImage(baseline)
        let current = try currentImage()
        return BreakingChecker(category: category).check(previous: previous, current: current)
    }

    /// Style findings in the current files.
    public func lint() throws(ContractsCheckError) -> [ContractViolation] {
        ContractsLinter().lint(try currentImage())
    }

    /// Records the current contracts as the baseline; returns the file written.
    @discardableResult
    public func accept() throws(ContractsCheckError) -> URL {
        let bytes = try compiler.descriptorSetBytes(root: root)
        do {
            try bytes.write(to: baselineFile, options: .atomic)
        } catch {
            throw ContractsCheckError(.io, "could not write \(baselineFile.path): \(error)")
        }
        return baselineFile
    }
}

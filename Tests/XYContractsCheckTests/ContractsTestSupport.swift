import Foundation
import Testing
@testable import XYContractsCheck

/// A throwaway folder of `.proto` files (optionally a git repository) for one test.
struct ScratchContracts: ~Copyable {
    let root: URL

    init(_ files: [String: String]) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("xy-contracts-test-\(UUID().uuidString)")
        try write(files)
    }

    func write(_ files: [String: String]) throws {
        for (path, text) in files {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
    }

    /// Runs git in the folder with a fixed identity; fails the test on a non-zero exit.
    func git(_ arguments: String...) throws {
        let result = try Subprocess.run(try #require(Subprocess.find("git")),
                                        ["-c", "user.name=xy", "-c", "user.email=xy@example.invalid", "-c", "commit.gpgsign=false"] + arguments,
                                        in: root)
        try #require(result.status == 0, "git \(arguments): \(result.errors)")
    }

    deinit {
        try? FileManager.default.removeItem(at: root)
    }
}

/// The repository's own contracts.
enum RepositoryContracts {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Contracts")
}

let tradeV1 = """
    syntax = "proto3";

    package fx.v1;

    message Trade {
      double price = 1;
      double size = 2;
    }
    """

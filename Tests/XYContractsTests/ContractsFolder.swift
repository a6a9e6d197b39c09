import Foundation

/// The repository's `Contracts/` folder.
enum ContractsFolder {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let root = repository.appendingPathComponent("Contracts")
}

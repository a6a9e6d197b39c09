import Foundation

/// Runs a tool (protoc, git) to completion and keeps what it printed. Output goes to temporary
/// files rather than pipes, so a chatty tool can never block on a full pipe while we wait.
struct Subprocess {
    struct Result {
        let status: Int32
        let output: Data
        let errors: String
    }

    /// The absolute path of `name` on `PATH` (or `name` itself when it already has a slash).
    static func find(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static func run(_ executable: String, _ arguments: [String], in directory: URL? = nil) throws(ContractsCheckError) -> Result {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("xy-subprocess-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: scratch) }
            let outURL = scratch.appendingPathComponent("out")
            let errURL = scratch.appendingPathComponent("err")
            _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
            _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
            let out = try FileHandle(forWritingTo: outURL)
            let err = try FileHandle(forWritingTo: errURL)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            if let directory { process.currentDirectoryURL = directory }
            process.standardOutput = out
            process.standardError = err
            process.standardInput = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            try out.close()
            try err.close()
            return Result(status: process.terminationStatus, output: try Data(contentsOf: outURL),
                          errors: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
        } catch {
            throw ContractsCheckError(.io, "could not run \(executable): \(error)")
        }
    }
}

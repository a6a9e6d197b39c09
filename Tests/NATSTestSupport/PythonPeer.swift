import Foundation

/// A Python peer from `Tests/Interop` (by default `nats_py_peer.py`, a client nobody here wrote)
/// run by the venv's Python (`$XY_PYTHON`, which `make test` sets, else `<repo>/.venv/bin/python`
/// as `make deps` creates it). A missing venv fails the test with the command that fixes it.
public struct PythonPeer: Sendable {
    let process: ChildProcess
    let outputFile: String

    /// `Tests/Interop/<name>`.
    public static func interopScript(_ name: String) -> String {
        let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        return testsDirectory.appendingPathComponent("Interop/\(name)").path
    }

    public static let script = interopScript("nats_py_peer.py")

    public static func python() throws -> String {
        if let python = ProcessInfo.processInfo.environment["XY_PYTHON"], !python.isEmpty {
            return python
        }
        let repository = URL(fileURLWithPath: script).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let python = repository.appendingPathComponent(".venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw NATSServerError(.executableNotFound, "no Python with nats-py: run 'make deps' (creates .venv) or set XY_PYTHON")
        }
        return python
    }

    /// Starts `<script> <arguments>`, output (stdout and stderr) into a file in `directory`.
    public static func start(_ arguments: [String], script: String = PythonPeer.script, in directory: String) throws -> PythonPeer {
        let outputFile = directory + "/peer-\(UUID().uuidString).out"
        let process = try ChildProcess.spawn(
            executable: try python(),
            arguments: ["-u", script] + arguments,
            outputPath: outputFile
        )
        return PythonPeer(process: process, outputFile: outputFile)
    }

    /// Runs the peer to completion and returns its exit status and output.
    public static func run(_ arguments: [String], in directory: String) async throws -> (status: Int32, output: String) {
        try await start(arguments, in: directory).finish()
    }

    public var output: String {
        (try? String(contentsOfFile: outputFile, encoding: .utf8)) ?? ""
    }

    /// Waits until the peer printed `READY` (or exited, or 10 s passed).
    public func waitUntilReady() async throws {
        try await waitUntil("the peer to print READY", timeout: .seconds(10), context: { "output:\n\(output)" }) {
            output.split(separator: "\n").contains("READY")
        }
    }

    /// Waits for the peer to exit (killing it after 20 s) and returns its status and output.
    public func finish() async throws -> (status: Int32, output: String) {
        guard let termination = await process.wait(timeout: .seconds(20)) else {
            process.send(SIGKILL)
            _ = process.waitBlocking()
            throw NATSServerError(.startTimeout, "the peer did not exit; output:\n\(output)")
        }
        switch termination {
        case .exited(let status): return (status, output)
        case .signaled(let signal): return (128 + signal, output)
        }
    }
}

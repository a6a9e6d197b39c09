import Foundation
import Testing

@testable import NATSTestSupport

/// `Tests/Interop/nats_py_peer.py` run by the venv's Python (`$XY_PYTHON`, which `make test`
/// sets, else `<repo>/.venv/bin/python` as `make deps` creates it).
struct PythonPeer {
    let process: ChildProcess
    let outputFile: String

    static let script: String = {
        let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        return testsDirectory.appendingPathComponent("Interop/nats_py_peer.py").path
    }()

    static func python() throws -> String {
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

    /// Starts `nats_py_peer.py <arguments>`, output (stdout and stderr) into a file in `directory`.
    static func start(_ arguments: [String], in directory: String) throws -> PythonPeer {
        let outputFile = directory + "/peer-\(UUID().uuidString).out"
        let process = try ChildProcess.spawn(
            executable: try python(),
            arguments: ["-u", script] + arguments,
            outputPath: outputFile
        )
        return PythonPeer(process: process, outputFile: outputFile)
    }

    /// Runs the peer to completion and returns its exit status and output.
    static func run(_ arguments: [String], in directory: String) async throws -> (status: Int32, output: String) {
        try await start(arguments, in: directory).finish()
    }

    var output: String {
        (try? String(contentsOfFile: outputFile, encoding: .utf8)) ?? ""
    }

    /// Waits until the peer printed `READY` (or exited, or 10 s passed).
    func waitUntilReady() async throws {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(10))
        while !output.split(separator: "\n").contains("READY") {
            guard clock.now < deadline else {
                throw NATSServerError(.startTimeout, "the peer did not print READY; output:\n\(output)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Waits for the peer to exit (killing it after 20 s) and returns its status and output.
    func finish() async throws -> (status: Int32, output: String) {
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

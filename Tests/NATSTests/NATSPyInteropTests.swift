import Foundation
import NATS
import NATSTestSupport
import NIOConcurrencyHelpers
import NIOCore
import Testing

/// A running `Tests/Interop/nats_py_peer.py`: a client nobody here wrote, on the other end of the bus.
final class PythonPeer: Sendable {
    private let process: Process
    private let output = NIOLockedValueBox("")
    private let errors = NIOLockedValueBox("")

    /// The virtualenv's python made by `make deps` (or `XY_PYTHON`); a missing one fails the test, never skips it.
    static func python() throws -> String {
        if let configured = ProcessInfo.processInfo.environment["XY_PYTHON"], FileManager.default.isExecutableFile(atPath: configured) {
            return configured
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let venv = root.appendingPathComponent(".venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: venv) else {
            throw NATSError(.invalidConfiguration, "nats-py virtualenv not found at \(venv): run 'make test' (it creates it) or 'make deps'")
        }
        return venv
    }

    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Interop/nats_py_peer.py").path
    }

    init(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Self.python())
        process.arguments = [Self.script] + arguments
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        self.process = process
        let output = self.output
        let errors = self.errors
        stdout.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if !data.isEmpty { output.withLockedValue { $0 += String(decoding: data, as: UTF8.self) } }
        }
        stderr.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if !data.isEmpty { errors.withLockedValue { $0 += String(decoding: data, as: UTF8.self) } }
        }
        try process.run()
    }

    var stdout: String { output.withLockedValue { $0 } }
    var stderr: String { errors.withLockedValue { $0 } }

    /// Waits for a line the peer prints (READY once subscribed).
    func waitFor(_ line: String, within: Duration = .seconds(15)) async throws {
        let deadline = ContinuousClock.now + within
        while ContinuousClock.now < deadline {
            if stdout.split(separator: "\n").contains(Substring(line)) { return }
            if !process.isRunning, !stdout.contains(line) {
                throw NATSError(.timeout, "nats-py peer exited (\(process.terminationStatus)) before '\(line)': \(stderr)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw NATSError(.timeout, "nats-py peer did not print '\(line)': \(stderr)")
    }

    /// Waits for exit; returns stdout, or throws with stderr on a non-zero status.
    func finish(within: Duration = .seconds(30)) async throws -> String {
        let deadline = ContinuousClock.now + within
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                process.terminate()
                throw NATSError(.timeout, "nats-py peer still running: \(stderr)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        try await Task.sleep(for: .milliseconds(50))  // let the pipe handlers drain the last bytes
        guard process.terminationStatus == 0 else {
            throw NATSError(.serverError, "nats-py peer failed (\(process.terminationStatus)): \(stderr)")
        }
        return stdout
    }

    deinit {
        if process.isRunning { process.terminate() }
    }
}

@Suite("Interoperability with nats-py")
struct NATSPyInteropTests {
    @Test("nats-py publishes with headers; an xy subscriber receives everything")
    func pythonPublishes() async throws {
        let server = try await NATSServer.start()
        let client = try await connect(server)
        let subscription = try client.subscribe("interop.py")
        try await client.flush()
        let peer = try PythonPeer(["publish", "--server", server.url, "--subject", "interop.py", "--count", "20",
                                   "--payload", "from python", "--header", "X-Origin:nats-py"])
        _ = try await peer.finish()
        let messages = try await collect(subscription, count: 20)
        #expect(messages.allSatisfy { $0.string == "from python" })
        #expect(messages[0].headers?["X-Origin"] == "nats-py")
        await client.close()
        await server.stop()
    }

    @Test("xy publishes with headers; a nats-py subscriber receives everything")
    func swiftPublishes() async throws {
        let server = try await NATSServer.start()
        let peer = try PythonPeer(["subscribe", "--server", server.url, "--subject", "interop.swift", "--count", "20"])
        try await peer.waitFor("READY")
        let client = try await connect(server)
        var headers = NATSHeaders()
        headers.append("xy", for: "X-Origin")
        for i in 0..<20 { try client.publish("interop.swift", "m\(i)", headers: headers) }
        try await client.flush()
        let lines = try await peer.finish().split(separator: "\n").filter { $0.hasPrefix("{") }
        #expect(lines.count == 20)
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        #expect(first?["data"] as? String == "m0")
        let received = first?["headers"] as? [String: Any]
        let origin = String(describing: received?["X-Origin"] ?? "none")
        #expect(origin.contains("xy"))
        await client.close()
        await server.stop()
    }

    @Test("nats-py answers xy requests, and xy answers nats-py requests")
    func requestsBothWays() async throws {
        let server = try await NATSServer.start()
        let replier = try PythonPeer(["reply", "--server", server.url, "--subject", "interop.svc.py", "--count", "3", "--payload", "py-pong"])
        try await replier.waitFor("READY")
        let client = try await connect(server)
        for _ in 0..<3 {
            #expect(try await client.request("interop.svc.py", "ping").string == "py-pong")
        }
        _ = try await replier.finish()

        try client.subscribe("interop.svc.swift") { message in
            if let reply = message.replyTo { try? client.publish(reply, "swift-pong") }
        }
        try await client.flush()
        let requester = try PythonPeer(["request", "--server", server.url, "--subject", "interop.svc.swift", "--payload", "ping"])
        let answer = try await requester.finish()
        #expect(answer.trimmingCharacters(in: .whitespacesAndNewlines) == "swift-pong")
        await client.close()
        await server.stop()
    }
}

import Foundation

/// A built executable of this package (`xy`, `xy-realtime`, `xy-gateway`, …) run as a child process, its stdout
/// and stderr captured into one file that tests read while it runs.
public final class ManagedProcess: @unchecked Sendable {
    public let process = Process()
    public let outputPath: String
    private let output: FileHandle

    /// Executables sit beside the test bundle in the build folder.
    public static func path(of name: String) -> String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name).path
    }

    public init(_ name: String, arguments: [String] = [], environment: [String: String] = [:]) throws {
        let executable = Self.path(of: name)
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw ManagedProcessError("\(name) not built at \(executable): run 'swift build' first")
        }
        outputPath = NSTemporaryDirectory() + "xy-\(name)-\(UUID().uuidString).log"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for key in env.keys where key.hasPrefix("NATS_") || key.hasPrefix("UPSTREAM_") || key == "HTTP_PORT" {
            env.removeValue(forKey: key)
        }
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.standardOutput = output
        process.standardError = output
        try process.run()
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
        }
        try? output.close()
        try? FileManager.default.removeItem(atPath: outputPath)
    }

    /// Everything printed so far.
    public var log: String {
        (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    }

    /// Waits until the output holds a match for `predicate`; throws with the log on timeout or exit.
    @discardableResult
    public func waitForOutput(timeout: Duration = .seconds(30), _ predicate: (String) -> String?) async throws -> String {
        var found: String?
        try await waitUntil("output", timeout: timeout, every: .milliseconds(50), context: { "log:\n\(log.suffix(4000))" }) {
            let text = log
            found = predicate(text)
            if found == nil && !process.isRunning {
                throw ManagedProcessError("process exited (\(process.terminationStatus)) before the expected output; log:\n\(text.suffix(4000))")
            }
            return found != nil
        }
        return found ?? ""
    }

    /// Sends SIGTERM and waits for the exit status (SIGKILL after `timeout`).
    @discardableResult
    public func terminate(timeout: Duration = .seconds(10)) async -> (status: Int32, elapsed: Duration) {
        let start = ContinuousClock.now
        if process.isRunning {
            process.terminate()
        }
        while process.isRunning {
            if ContinuousClock.now - start > timeout {
                kill(process.processIdentifier, SIGKILL)
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return (process.terminationStatus, ContinuousClock.now - start)
    }

    /// Waits for the JSON log line whose `msg` is `message` and returns its `http_port`: the port
    /// a service started with `HTTP_PORT=0` listens on.
    public func waitForHTTPPort(loggedWith message: String, timeout: Duration = .seconds(30)) async throws -> Int {
        let port = try await waitForOutput(timeout: timeout) { text in
            for line in text.split(separator: "\n") where line.contains("\"msg\":\"\(message)\"") {
                if let start = line.range(of: "\"http_port\":\"") {
                    return String(line[start.upperBound...].prefix { $0.isNumber })
                }
            }
            return nil
        }
        guard let number = Int(port) else { throw ManagedProcessError("no http_port in the \(message.debugDescription) line; log:\n\(log.suffix(2000))") }
        return number
    }

    /// Waits for the process to exit by itself.
    public func waitForExit(timeout: Duration = .seconds(20)) async throws -> Int32 {
        try await waitUntil("the process to exit", timeout: timeout, context: { "log:\n\(log.suffix(2000))" }) { !process.isRunning }
        return process.terminationStatus
    }
}

/// A child process that did not start, exit or print as a test expected; the message carries its log.
public struct ManagedProcessError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

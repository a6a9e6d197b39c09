import Foundation
import NATSTestSupport
import Testing

/// Runs the built `xy` executable, as a user would, and captures what it prints.
struct XYCommand {
    /// `xy` sits beside the test bundle in the build folder.
    static var path: String {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        return bundle.appendingPathComponent("xy").path
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(20)) async throws -> Result {
        let process = try start(arguments, environment: environment)
        return try await process.wait(timeout: timeout)
    }

    static func start(_ arguments: [String], environment: [String: String] = [:]) throws -> Running {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw CLITestError("xy not built at \(path): run 'make test' (swift build builds it)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "NATS_URL")
        for (key, value) in environment { env[key] = value }
        process.environment = env
        // Output goes to files, not pipes: a pipe needs a reader, and a reader blocked in read(2)
        // on Swift's cooperative pool (two threads on a two-core machine) stalls every other test.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("xy-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let out = directory.appendingPathComponent("stdout")
        let err = directory.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        return Running(process: process, directory: directory)
    }

    /// A started `xy`; its output is read once it has exited.
    final class Running: @unchecked Sendable {
        let process: Process
        let directory: URL

        init(process: Process, directory: URL) {
            self.process = process
            self.directory = directory
        }

        /// What `xy` has written to stdout so far.
        var stdout: String {
            (try? String(contentsOf: directory.appendingPathComponent("stdout"), encoding: .utf8)) ?? ""
        }

        /// Waits until stdout contains `text`; throws with what it printed when `xy` exits first or
        /// `timeout` passes.
        func waitForStdout(containing text: String, timeout: Duration = .seconds(20)) async throws {
            try await waitUntil("xy \(process.arguments ?? []) to print \(text.debugDescription)", timeout: timeout, context: { "stdout:\n\(stdout)" }) {
                if stdout.contains(text) { return true }
                guard process.isRunning else { throw CLITestError("xy \(process.arguments ?? []) exited; stdout:\n\(stdout)") }
                return false
            }
        }

        /// Waits (sleeping, never blocking a thread) until `xy` exits; kills it after `timeout`.
        func wait(timeout: Duration) async throws -> Result {
            defer { try? FileManager.default.removeItem(at: directory) }
            let deadline = ContinuousClock.now + timeout
            while process.isRunning {
                if ContinuousClock.now > deadline {
                    process.terminate()
                    throw CLITestError("xy \(process.arguments ?? []) did not finish within \(timeout)")
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            func read(_ name: String) -> String {
                (try? String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)) ?? ""
            }
            return Result(status: process.terminationStatus, stdout: read("stdout"), stderr: read("stderr"))
        }
    }
}

/// Waits until the server counts a subscription on `subject`: an `xy sub` or `xy reply` started in
/// the background is then ready for what the test sends.
func waitForSubscription(_ subject: String, on server: NATSServer) async throws {
    try await waitUntil("a subscription on \(subject)", timeout: .seconds(10), every: .milliseconds(50)) {
        try await server.connz(subs: true).description.contains(subject)
    }
}

struct CLITestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

@Suite("xy command line")
struct CLITests {
    @Test("pub and sub: sub prints one line per message and exits after --count")
    func pubSub() async throws {
        let server = try await NATSServer.start()
        let sub = try XYCommand.start(["sub", "cli.>", "--count", "3", "-s", server.url])
        try await waitForSubscription("cli.>", on: server)
        let pub = try await XYCommand.run(["pub", "cli.a", "hello", "--count", "2", "--header", "K:V", "-s", server.url])
        #expect(pub.status == 0, "\(pub.stderr)")
        _ = try await XYCommand.run(["pub", "cli.b", "world"], environment: ["NATS_URL": server.url])
        let result = try await sub.wait(timeout: .seconds(10))
        #expect(result.status == 0)
        #expect(result.stdout.split(separator: "\n") == ["[#1] cli.a {K: V}: hello", "[#2] cli.a {K: V}: hello", "[#3] cli.b: world"])
        await server.stop()
    }

    @Test("req and reply")
    func requestReply() async throws {
        let server = try await NATSServer.start()
        let reply = try XYCommand.start(["reply", "cli.svc", "pong", "--count", "1", "-s", server.url])
        try await waitForSubscription("cli.svc", on: server)
        let req = try await XYCommand.run(["req", "cli.svc", "ping", "--timeout", "2s", "-s", server.url])
        #expect(req.status == 0, "\(req.stderr)")
        #expect(req.stdout == "pong\n")
        _ = try await reply.wait(timeout: .seconds(10))
        let none = try await XYCommand.run(["req", "cli.nobody", "x", "--timeout", "500ms", "-s", server.url])
        #expect(none.status != 0)
        #expect(none.stderr.contains("no responders"))
        await server.stop()
    }

    @Test("failures exit non-zero with one clear line on stderr")
    func failures() async throws {
        let server = try await NATSServer.start(.init(token: "secret"))
        let badSubject = try await XYCommand.run(["pub", "bad subject", "x", "-s", server.url, "--token", "secret"])
        #expect(badSubject.status != 0)
        #expect(badSubject.stderr.contains("invalid publish subject"))
        let auth = try await XYCommand.run(["pub", "a", "x", "-s", server.url, "--token", "wrong"])
        #expect(auth.status != 0)
        #expect(auth.stderr.split(separator: "\n").count == 1)
        #expect(auth.stderr.contains("refused"))
        #expect(!auth.stderr.contains("wrong"), "the token must not be echoed")
        let duration = try await XYCommand.run(["req", "a", "x", "--timeout", "soon", "-s", server.url])
        #expect(duration.status != 0)
        await server.stop()
    }

    @Test("nkey gen prints a seed and its public key; nkey pub reads the seed back; the key authenticates")
    func nkeys() async throws {
        let gen = try await XYCommand.run(["nkey", "gen", "user"])
        let lines = gen.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        #expect(lines[0].hasPrefix("SU") && lines[1].hasPrefix("U"))
        let seedFile = FileManager.default.temporaryDirectory.appendingPathComponent("xy-cli-\(UUID()).nk").path
        try lines[0].write(toFile: seedFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: seedFile) }
        let pub = try await XYCommand.run(["nkey", "pub", seedFile])
        #expect(pub.stdout == lines[1] + "\n")
        let server = try await NATSServer.start(.init(nkeyUsers: [.init(publicKey: lines[1])]))
        let publish = try await XYCommand.run(["pub", "a", "x", "-s", server.url, "--nkey", seedFile])
        #expect(publish.status == 0, "\(publish.stderr)")
        await server.stop()
        for kind in ["account", "operator"] {
            let other = try await XYCommand.run(["nkey", "gen", kind])
            #expect(other.stdout.hasPrefix(kind == "account" ? "SA" : "SO"))
        }
    }

    @Test("bench prints JSON lines with the fields make bench reads")
    func bench() async throws {
        let server = try await NATSServer.start()
        for kind in ["pub", "pubsub", "req"] {
            let result = try await XYCommand.run(["bench", kind, "--msgs", "200", "--size", "16", "--json", "-s", server.url])
            #expect(result.status == 0, "\(result.stderr)")
            let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            #expect(object?["bench"] as? String == kind)
            #expect((object?["msgs_per_s"] as? Int ?? 0) > 0)
            if kind == "req" { #expect(object?["p50_us"] != nil && object?["p99_us"] != nil) }
        }
        await server.stop()
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A child process started with `posix_spawn`, stdin from `/dev/null`, stdout and stderr
/// appended to one file, no inherited descriptors above 2 (Linux), default signal handling.
///
/// The owner must reap it exactly once (``poll()`` returning non-nil, or ``waitBlocking()``)
/// and must not signal it after that, since the pid may be reused.
struct ChildProcess: Sendable {
    /// How a child ended.
    enum Termination: Sendable, Hashable, CustomStringConvertible {
        case exited(Int32)
        case signaled(Int32)

        var description: String {
            switch self {
            case .exited(let code): "exit status \(code)"
            case .signaled(let signal): "signal \(signal)"
            }
        }
    }

    let pid: pid_t

    /// Starts `executable` with `arguments`, appending its output to `outputPath`.
    static func spawn(executable: String, arguments: [String], outputPath: String) throws -> ChildProcess {
        #if canImport(Darwin)
        var actions: posix_spawn_file_actions_t? = nil
        var attributes: posix_spawnattr_t? = nil
        #else
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        #endif
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }

        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        #if os(Linux)
        // Descriptors of other tests (sockets, pipes) must not leak into the child, or a
        // peer would never see them close.
        if let closeFrom = Self.addCloseFrom { _ = closeFrom(&actions, 3) }
        #endif

        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }

        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard result == 0 else {
            throw NATSServerError(
                .setupFailed,
                "cannot start \(executable): \(String(cString: strerror(result)))"
            )
        }
        return ChildProcess(pid: pid)
    }

    /// Starts `executable` so that it is killed when this process dies (Linux, through
    /// `setpriv --pdeathsig KILL` spawned from ``SpawnerThread``); elsewhere, or without
    /// `setpriv`, a plain ``spawn(executable:arguments:outputPath:)``.
    static func spawnTiedToProcess(executable: String, arguments: [String], outputPath: String) async throws -> ChildProcess {
        #if os(Linux)
        if let setpriv = Self.setpriv {
            return try await SpawnerThread.shared.run {
                try spawn(
                    executable: setpriv,
                    arguments: ["--pdeathsig", "KILL", "--", executable] + arguments,
                    outputPath: outputPath
                )
            }
        }
        #endif
        return try spawn(executable: executable, arguments: arguments, outputPath: outputPath)
    }

    #if os(Linux)
    private static let setpriv = locate("setpriv", extraDirectories: ["/usr/bin", "/bin"])
    #endif

    /// Reaps the child if it has ended; `nil` while it runs.
    func poll() -> Termination? {
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { return Self.termination(status) }
            if result == 0 { return nil }
            if errno == EINTR { continue }
            // ECHILD: already reaped elsewhere; treat as gone.
            return .exited(-1)
        }
    }

    /// Blocks until the child ends and reaps it.
    func waitBlocking() -> Termination {
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, 0)
            if result == pid { return Self.termination(status) }
            if result < 0 && errno == EINTR { continue }
            return .exited(-1)
        }
    }

    /// Waits asynchronously (polling, so no cooperative thread blocks) until the child ends
    /// or `timeout` passes; `nil` on timeout (the child is then still unreaped).
    func wait(timeout: Duration) async -> Termination? {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var interval = Duration.milliseconds(1)
        while true {
            if let termination = poll() { return termination }
            if clock.now >= deadline { return nil }
            await pause(interval)
            interval = min(interval * 2, .milliseconds(20))
        }
    }

    /// Sends `signal` to the child.
    func send(_ signal: Int32) {
        kill(pid, signal)
    }

    #if os(Linux)
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    /// glibc ≥ 2.34 `posix_spawn_file_actions_addclosefrom_np`, which Swift's Glibc module
    /// does not import (it is behind `_GNU_SOURCE`); looked up at run time.
    private static let addCloseFrom: AddCloseFrom? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else {
            return nil
        }
        return unsafeBitCast(symbol, to: AddCloseFrom.self)
    }()
    #endif

    private static func termination(_ status: Int32) -> Termination {
        let signal = status & 0x7f
        return signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
    }

    /// Runs a tool to completion (e.g. `openssl`), throwing with its output when it fails.
    static func run(executable: String, arguments: [String], outputPath: String) async throws {
        let child = try spawn(executable: executable, arguments: arguments, outputPath: outputPath)
        guard let termination = await child.wait(timeout: .seconds(30)) else {
            child.send(SIGKILL)
            _ = child.waitBlocking()
            throw NATSServerError(.setupFailed, "\(executable) \(arguments.joined(separator: " ")) timed out")
        }
        guard termination == .exited(0) else {
            let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            throw NATSServerError(
                .setupFailed,
                "\(executable) \(arguments.joined(separator: " ")) failed (\(termination)):\n\(output)"
            )
        }
    }

    /// The first executable file called `name` in `$PATH` or in `extraDirectories`.
    static func locate(
        _ name: String,
        path: String = ProcessInfo.processInfo.environment["PATH"] ?? "",
        extraDirectories: [String] = []
    ) -> String? {
        let directories = path.split(separator: ":").map(String.init) + extraDirectories
        for directory in directories where !directory.isEmpty {
            let candidate = directory + "/" + name
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}

/// Sleeps for `duration`, also when the task is cancelled (a cancelled `Task.sleep` returns at
/// once, which would turn polling loops that must finish, such as stopping a server, into busy loops).
func pause(_ duration: Duration) async {
    do {
        try await Task.sleep(for: duration)
    } catch {
        let (seconds, attoseconds) = duration.components
        usleep(UInt32(seconds * 1_000_000 + attoseconds / 1_000_000_000_000))
    }
}

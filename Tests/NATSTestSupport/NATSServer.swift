#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A real `nats-server` process on free loopback ports, with a generated config in a fresh
/// temporary directory, for integration tests.
///
/// ```swift
/// let server = try await NATSServer.start(.init(jetStream: true))
/// defer { Task { await server.stop() } }     // or rely on deinit, which kills it
/// let client = try await NATSClient.connect(server.url)
/// ```
///
/// The server binary is `$XY_NATS_SERVER` when set, else `nats-server` from `$PATH` or
/// `/usr/sbin`. Without it, ``start(_:)`` throws (tests fail, they never skip). The temporary
/// directory is removed when the object is released, unless `XY_KEEP_NATS_DIRS=1`.
public final class NATSServer: Sendable {
    /// The configuration the server was started with.
    public let configuration: NATSServerConfiguration
    /// The temporary directory holding the config, log, certificates, creds and JetStream store.
    public let directory: String
    /// The generated config file.
    public var configFile: String { directory + "/nats-server.conf" }
    /// The file that receives the server's stdout and stderr (all runs, appended).
    public var logFile: String { directory + "/nats-server.log" }

    let executable: String
    let material: GeneratedMaterial
    private let state: LockedValue<State>

    private struct State {
        /// The running (not yet reaped) process; `nil` when stopped.
        var process: ChildProcess?
        var ports: ServerPorts
        var credsCounter = 0
    }

    /// How long ``start(_:)`` and ``restart()`` wait for "Server is ready".
    public static let startTimeout: Duration = .seconds(10)

    private init(
        configuration: NATSServerConfiguration,
        directory: String,
        executable: String,
        material: GeneratedMaterial
    ) {
        self.configuration = configuration
        self.directory = directory
        self.executable = executable
        self.material = material
        self.state = LockedValue(State(process: nil, ports: .pickFree))
    }

    deinit {
        if let process = state.withLock({ $0.process }) {
            process.send(SIGKILL)
            _ = process.waitBlocking()
        }
        if ProcessInfo.processInfo.environment["XY_KEEP_NATS_DIRS"] != "1" {
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    // MARK: Starting and stopping

    /// Generates what `configuration` needs, starts the server on free loopback ports and
    /// returns once it logged "Server is ready". Throws with the server log when it exits or
    /// is not ready within ``startTimeout``.
    public static func start(_ configuration: NATSServerConfiguration = .init()) async throws -> NATSServer {
        let executable = try locateExecutable()
        let directory = try makeTemporaryDirectory()
        do {
            var material = GeneratedMaterial()
            if configuration.tls != nil {
                material.tls = try await TLSMaterial.generate(in: directory)
            }
            if configuration.operatorMode {
                material.operatorSetup = try OperatorSetup.generate(in: directory)
            }
            let server = NATSServer(
                configuration: configuration,
                directory: directory,
                executable: executable,
                material: material
            )
            try await server.launch(ports: .pickFree)
            return server
        } catch {
            if ProcessInfo.processInfo.environment["XY_KEEP_NATS_DIRS"] != "1" {
                try? FileManager.default.removeItem(atPath: directory)
            }
            throw error
        }
    }

    /// Stops the server: SIGTERM, then SIGKILL if it has not exited after 5 s. Idempotent.
    public func stop() async {
        guard let process = state.withLock({ state -> ChildProcess? in
            defer { state.process = nil }
            return state.process
        }) else { return }
        process.send(SIGTERM)
        if await process.wait(timeout: .seconds(5)) == nil {
            process.send(SIGKILL)
            _ = process.waitBlocking()
        }
    }

    /// Stops the server if it runs, then starts it again with the same config, on the same
    /// ports and with the same JetStream store, and waits until it is ready.
    public func restart() async throws {
        await stop()
        let ports = state.withLock { $0.ports }
        // The old listener's port can take a moment to be free again (TIME_WAIT is fine for
        // Go's listener, but a slow exit or another process is not): retry for a while.
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(5))
        while true {
            do {
                try await launch(ports: ports)
                return
            } catch let error as NATSServerError
                where error.code == .exitedEarly && (error.log ?? "").contains("address already in use")
                && clock.now < deadline
            {
                await pause(.milliseconds(100))
            }
        }
    }

    /// Puts the server into lame duck mode (SIGUSR2, as `nats-server --signal ldm`): it stops
    /// accepting connections, tells clients (`INFO` with `"ldm":true`) and closes them gradually.
    public func enterLameDuckMode() {
        state.withLock { $0.process?.send(SIGUSR2) }
    }

    /// Freezes the server (SIGSTOP): its sockets stay open but nothing answers, as on a dead link.
    public func freeze() {
        state.withLock { $0.process?.send(SIGSTOP) }
    }

    /// Lets a paused server run again (SIGCONT).
    public func thaw() {
        state.withLock { $0.process?.send(SIGCONT) }
    }

    /// `true` while the server process runs (it may have crashed since; see ``log``).
    public var isRunning: Bool {
        state.withLock { state in
            guard let process = state.process else { return false }
            if process.poll() != nil {
                state.process = nil
                return false
            }
            return true
        }
    }

    // MARK: Where to connect

    /// The client port.
    public var port: Int { state.withLock { $0.ports.client } }
    /// `nats://127.0.0.1:<port>`, or `tls://127.0.0.1:<port>` when TLS is on.
    public var url: String { "\(configuration.tls == nil ? "nats" : "tls")://127.0.0.1:\(port)" }
    /// The HTTP monitoring port (`/varz`, `/connz`, `/jsz`, `/healthz`).
    public var monitorPort: Int { state.withLock { $0.ports.monitor } }
    /// The plain WebSocket port, when ``NATSServerConfiguration/websocketPort`` is on.
    public var websocketPort: Int? { state.withLock { $0.ports.websocket } }
    /// `ws://127.0.0.1:<websocketPort>`, when the WebSocket listener is on.
    public var websocketURL: String? { websocketPort.map { "ws://127.0.0.1:\($0)" } }

    // MARK: Generated material

    /// The CA certificate (PEM) that signed the server and client certificates, when TLS is on.
    public var caFile: String? { material.tls?.caFile }
    /// The server certificate (PEM), when TLS is on.
    public var serverCertFile: String? { material.tls?.serverCertFile }
    /// The server private key (PEM), when TLS is on.
    public var serverKeyFile: String? { material.tls?.serverKeyFile }
    /// A client certificate (PEM) signed by the CA, when TLS is on (required by `.mutual`).
    public var clientCertFile: String? { material.tls?.clientCertFile }
    /// The client certificate's private key (PEM), when TLS is on.
    public var clientKeyFile: String? { material.tls?.clientKeyFile }
    /// In operator mode: the creds file (JWT + seed) of a user allowed everything.
    public var userCredsFile: String? { material.operatorSetup?.userCredsFile }

    /// Everything the server wrote to stdout and stderr so far (all runs), for failure messages.
    public var log: String {
        guard let data = FileManager.default.contents(atPath: logFile) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }

    // MARK: Internals

    /// Writes the config for `ports`, starts the process and waits until it is ready.
    private func launch(ports: ServerPorts) async throws {
        var ports = ports
        if !configuration.websocketPort { ports.websocket = nil }
        let text = configuration.render(directory: directory, ports: ports, material: material)
        do {
            try text.write(toFile: configFile, atomically: true, encoding: .utf8)
        } catch {
            throw NATSServerError(.setupFailed, "cannot write \(configFile): \(error)")
        }
        let logOffset = (try? FileManager.default.attributesOfItem(atPath: logFile)[.size] as? Int) ?? 0
        let process = try await ChildProcess.spawnTiedToProcess(
            executable: executable,
            arguments: ["-c", configFile],
            outputPath: logFile
        )

        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: Self.startTimeout)
        var interval = Duration.milliseconds(2)
        while true {
            let output = logSince(logOffset)
            if output.contains("Server is ready") {
                let found = Self.parsePorts(output)
                guard let client = found.client, let monitor = found.monitor,
                    !configuration.websocketPort || found.websocket != nil
                else {
                    process.send(SIGKILL)
                    _ = process.waitBlocking()
                    throw NATSServerError(.setupFailed, "cannot find the listening ports in the log", log: output)
                }
                state.withLock { state in
                    state.process = process
                    state.ports = ServerPorts(client: client, monitor: monitor, websocket: found.websocket)
                }
                return
            }
            if let termination = process.poll() {
                throw NATSServerError(
                    .exitedEarly,
                    "nats-server exited before it was ready (\(termination)); config \(configFile):\n\(text)",
                    log: logSince(logOffset)
                )
            }
            if clock.now >= deadline {
                process.send(SIGKILL)
                _ = process.waitBlocking()
                throw NATSServerError(
                    .startTimeout,
                    "nats-server was not ready after \(Self.startTimeout); config \(configFile):\n\(text)",
                    log: logSince(logOffset)
                )
            }
            await pause(interval)
            interval = min(interval * 2, .milliseconds(25))
        }
    }

    private func logSince(_ offset: Int) -> String {
        guard let data = FileManager.default.contents(atPath: logFile), data.count >= offset else { return log }
        return String(decoding: data.dropFirst(offset), as: UTF8.self)
    }

    /// Ports from "Listening for client connections on 127.0.0.1:N", "Starting http monitor
    /// on 127.0.0.1:N" and "Listening for websocket clients on ws://127.0.0.1:N".
    static func parsePorts(_ log: String) -> (client: Int?, monitor: Int?, websocket: Int?) {
        var result: (client: Int?, monitor: Int?, websocket: Int?) = (nil, nil, nil)
        for line in log.split(separator: "\n") {
            guard let colon = line.lastIndex(of: ":"), let port = Int(line[line.index(after: colon)...]) else {
                continue
            }
            if line.contains("Listening for client connections on ") {
                result.client = port
            } else if line.contains("Starting http monitor on ") {
                result.monitor = port
            } else if line.contains("Listening for websocket clients on ") {
                result.websocket = port
            }
        }
        return result
    }

    /// `$XY_NATS_SERVER`, else `nats-server` in `$PATH` or the usual sbin/bin directories.
    static func locateExecutable(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        standardDirectories: [String] = ["/usr/sbin", "/usr/local/sbin", "/usr/local/bin", "/usr/bin", "/sbin", "/bin"]
    ) throws -> String {
        if let override = environment["XY_NATS_SERVER"], !override.isEmpty {
            guard access(override, X_OK) == 0 else {
                throw NATSServerError(.executableNotFound, "XY_NATS_SERVER=\(override) is not an executable file")
            }
            return override
        }
        guard let path = ChildProcess.locate("nats-server", path: environment["PATH"] ?? "", extraDirectories: standardDirectories) else {
            throw NATSServerError(.executableNotFound, notFoundMessage)
        }
        return path
    }

    /// The message of the error thrown when `nats-server` is missing.
    static let notFoundMessage =
        "nats-server not found: run 'make test' (it installs it) or 'apt-get install -y nats-server'"

    private static func makeTemporaryDirectory() throws -> String {
        var base = NSTemporaryDirectory()
        if base.hasSuffix("/") { base.removeLast() }
        var template = Array((base + "/xy-nats-XXXXXX").utf8CString)
        let created = template.withUnsafeMutableBufferPointer { buffer in
            mkdtemp(buffer.baseAddress!)
        }
        guard created != nil else {
            throw NATSServerError(.setupFailed, "mkdtemp in \(base) failed: \(String(cString: strerror(errno)))")
        }
        return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func nextCredsIndex() -> Int {
        state.withLock { state in
            state.credsCounter += 1
            return state.credsCounter
        }
    }
}

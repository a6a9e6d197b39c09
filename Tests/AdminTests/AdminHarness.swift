import Admin
import Dispatch
import Foundation
import Logging
import NATS
import NATSTestSupport
import XYCore
import XYService

/// One test's xy-admin: the real nats-server with JetStream on a free port, and the real
/// AdminService (the library `xy-admin` runs) in-process on a free API port, so a test can also
/// rotate its signing key through ``AdminHandle``. Argon2id runs with libsodium's minimum cost so
/// that the suite stays quick; everything else is as deployed.
final class AdminHarness: @unchecked Sendable {
    let nats: NATSServer
    let client: NATSClient
    let port: Int
    let handle: AdminHandle
    private let task: Task<Void, any Error>

    static func start(_ overrides: [String: String] = [:]) async throws -> AdminHarness {
        let nats = try await NATSServer.start(.init(jetStream: true))
        var environment = [
            "API_HOST": "127.0.0.1", "API_PORT": "0",
            "ARGON2_OPSLIMIT": String(PasswordHasher.minimumOperations),
            "ARGON2_MEMLIMIT": String(PasswordHasher.minimumMemoryBytes),
        ]
        for (name, value) in overrides { environment[name] = value }
        let configuration = try AdminConfiguration(environment: EnvironmentReader(environment))
        let client = try await NATSClient.connect(url: nats.url)
        let ready = AsyncStream.makeStream(of: (Int?, AdminHandle?).self)
        let service = AdminService(
            configuration: configuration, nats: client, readiness: ReadinessState(), logger: Logger(label: "xy.admin.test"),
            onListening: { port in ready.continuation.yield((port, nil)) },
            onReady: { handle in ready.continuation.yield((nil, handle)) }
        )
        let task = Task { try await service.run() }
        var port: Int?
        var handle: AdminHandle?
        let deadline = ContinuousClock.now + .seconds(30)
        let timeout = Task {
            try await Task.sleep(until: deadline)
            ready.continuation.finish()
        }
        for await (listening, loaded) in ready.stream {
            port = listening ?? port
            handle = loaded ?? handle
            if port != nil, handle != nil { break }
        }
        timeout.cancel()
        guard let port, let handle else {
            task.cancel()
            await client.close()
            await nats.stop()
            throw HarnessError(message: "xy-admin did not start within 30 s")
        }
        return AdminHarness(nats: nats, client: client, port: port, handle: handle, task: task)
    }

    private init(nats: NATSServer, client: NATSClient, port: Int, handle: AdminHandle, task: Task<Void, any Error>) {
        self.nats = nats
        self.client = client
        self.port = port
        self.handle = handle
        self.task = task
    }

    func stop() async {
        task.cancel()
        _ = try? await task.value
        await client.close()
        await nats.stop()
    }

    /// One HTTP/1.1 exchange on a fresh connection, on a thread of its own: the blocking socket
    /// must not hold a thread of the cooperative pool the service itself runs on, nor one of
    /// Dispatch's global pool, which on Linux grows by about a thread a second when its threads
    /// block (a parallel run of many tests then stalled every exchange for tens of seconds).
    func request(_ method: String, _ path: String, json: String? = nil, token: String? = nil, headers: [(String, String)] = []) async throws -> HTTPAnswer {
        let port = self.port
        return try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result {
                    try HTTPAnswer.exchange(port: port, method: method, path: path, body: json, token: token, headers: headers)
                })
            }.start()
        }
    }

    /// Registers `username` and logs in: the access and refresh tokens.
    func account(_ username: String, password: String = "correct horse battery") async throws -> (access: String, refresh: String) {
        let created = try await request("POST", "/api/v1/auth/register", json: #"{"username":"\#(username)","password":"\#(password)"}"#)
        guard created.status == 201 else { throw HarnessError(message: "register \(username): \(created.status) \(created.body)") }
        let login = try await request("POST", "/api/v1/auth/login", json: #"{"username":"\#(username)","password":"\#(password)"}"#)
        guard login.status == 200, let access = login.json["access_token"] as? String, let refresh = login.json["refresh_token"] as? String else {
            throw HarnessError(message: "login \(username): \(login.status) \(login.body)")
        }
        return (access, refresh)
    }
}

/// A parsed HTTP response.
struct HTTPAnswer {
    var status: Int
    var headers: [(String, String)]
    var body: String

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    /// The body as a JSON object (empty when it is not one).
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
    }

    /// The `code` of an error body.
    var code: String? { json["code"] as? String }

    static func exchange(port: Int, method: String, path: String, body: String?, token: String?, headers: [(String, String)]) throws -> HTTPAnswer {
        let connection = try LoopbackConnection(port: port, timeout: .seconds(20))
        defer { connection.close() }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        let bytes = Array((body ?? "").utf8)
        if body != nil { head += "Content-Type: application/json\r\nContent-Length: \(bytes.count)\r\n" }
        try connection.send(Array((head + "\r\n").utf8) + bytes)
        let text = String(decoding: try connection.readToEnd(), as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { throw HarnessError(message: "no HTTP answer: \(text)") }
        let lines = text[..<split.lowerBound].split(separator: "\r\n")
        let status = Int(lines.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
        let parsed: [(String, String)] = lines.dropFirst().compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var payload = String(text[split.upperBound...])
        if parsed.contains(where: { $0.0.lowercased() == "transfer-encoding" && $0.1.lowercased() == "chunked" }) {
            payload = dechunk(payload)
        }
        return HTTPAnswer(status: status, headers: parsed, body: payload)
    }

    /// The body of a chunked transfer.
    static func dechunk(_ text: String) -> String {
        var bytes = Substring(text)
        var out = ""
        while let end = bytes.range(of: "\r\n"), let size = Int(bytes[..<end.lowerBound], radix: 16), size > 0 {
            let start = end.upperBound
            let stop = bytes.utf8.index(start, offsetBy: size)
            out += String(bytes[start..<stop])
            bytes = bytes[stop...].dropFirst(2)
        }
        return out
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

import Foundation
import GatewayAuth
import GatewayClient
import NATS
import NATSTestSupport
import NIOCore
import SwiftProtobuf
import XYContracts

/// One test's gateway on free loopback ports: the real nats-server, the real `xy-gateway`
/// binary with a fresh ES256 key, and a NATS client of the test's own that publishes what the
/// aggregator would (tick batches, snapshots, snapshot replies) so seqs, gaps and floods are
/// exactly what each test needs.
final class GatewayHarness: @unchecked Sendable {
    static let origin = "http://app.test"

    let nats: NATSServer
    var gateway: ManagedProcess
    var port: Int
    let key: TokenSigningKey
    let client: NATSClient
    let keyFile: String
    let environment: [String: String]

    static func start(environment: [String: String] = [:], jetStream: Bool = false) async throws -> GatewayHarness {
        // Bursts (the memory test queues 1,000 batches) on a loaded machine can keep the gateway from
        // reading for seconds; nats-server must not cut it off as a slow consumer for that, or the
        // burst never arrives. The gateway's own slow-consumer rules are what the tests look at.
        let nats = try await NATSServer.start(.init(jetStream: jetStream, extra: "write_deadline: \"60s\"\nmax_pending: 268435456"))
        let key = TokenSigningKey.generateES256()
        let keyFile = NSTemporaryDirectory() + "xy-gateway-test-\(UUID().uuidString).pub.pem"
        try key.publicKeyPEM.write(toFile: keyFile, atomically: true, encoding: .utf8)
        var env = [
            "NATS_URLS": nats.url,
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": "0",
            "JWT_PUBLIC_KEY": keyFile,
            "WS_ALLOWED_ORIGINS": origin,
            "WS_STATIC_DIR": "",
            "LOG_LEVEL": "debug",
            "HEALTH_INTERVAL": "1s",
        ]
        for (name, value) in environment { env[name] = value }
        let (gateway, port) = try await startGateway(env)
        let client = try await NATSClient.connect(url: nats.url)
        return GatewayHarness(nats: nats, gateway: gateway, port: port, key: key, client: client, keyFile: keyFile, environment: env)
    }

    private init(nats: NATSServer, gateway: ManagedProcess, port: Int, key: TokenSigningKey, client: NATSClient, keyFile: String, environment: [String: String]) {
        self.nats = nats
        self.gateway = gateway
        self.port = port
        self.key = key
        self.client = client
        self.keyFile = keyFile
        self.environment = environment
    }

    static func startGateway(_ environment: [String: String]) async throws -> (ManagedProcess, Int) {
        let gateway = try ManagedProcess("xy-gateway", environment: environment)
        return (gateway, try await gateway.waitForHTTPPort(loggedWith: "gateway listening"))
    }

    /// Kills the gateway and starts a new one with the same settings (a new port).
    func restartGateway() async throws {
        await gateway.terminate()
        (gateway, port) = try await Self.startGateway(environment)
    }

    func stop() async {
        await client.close()
        await gateway.terminate()
        await nats.stop()
        try? FileManager.default.removeItem(atPath: keyFile)
    }

    // MARK: tokens and connections

    func token(
        sub: String? = "tester", subjects: [String]? = ["xy.md.>"], maxSubs: Int? = nil,
        expires: Date? = Date().addingTimeInterval(3600), notBefore: Date? = nil
    ) async throws -> String {
        try await key.sign(GatewayTokenPayload(sub: sub, subjects: subjects, maxSubs: maxSubs, expires: expires, notBefore: notBefore), keyID: "test")
    }

    /// Upgrades with the token in `Sec-WebSocket-Protocol` (the browser way) from the allowed Origin.
    func connect(token: String?, origin: String? = GatewayHarness.origin, protocols: [String] = ["xy.v1.json"], extraHeaders: [(String, String)] = [], path: String = "/ws", receiveBufferSize: Int? = nil, onMessage: (@Sendable (WebSocketMessage) -> Void)? = nil) async throws -> WebSocketConnection {
        var headers = extraHeaders
        if let origin { headers.append(("Origin", origin)) }
        var offered = protocols
        if let token { offered += ["bearer", token] }
        if !offered.isEmpty { headers.append(("Sec-WebSocket-Protocol", offered.joined(separator: ", "))) }
        return try await WebSocketConnection.connect(host: "127.0.0.1", port: port, path: path, headers: headers, receiveBufferSize: receiveBufferSize, onMessage: onMessage)
    }

    /// A connected client with a valid token, after checking the upgrade succeeded.
    func connectedClient(subjects: [String]? = ["xy.md.>"], maxSubs: Int? = nil, protocols: [String] = ["xy.v1.json"], receiveBufferSize: Int? = nil) async throws -> WebSocketConnection {
        let connection = try await connect(token: try await token(subjects: subjects, maxSubs: maxSubs), protocols: protocols, receiveBufferSize: receiveBufferSize)
        guard connection.response.status == 101 else {
            throw ManagedProcessError("upgrade refused: \(connection.response.status) \(connection.response.body)")
        }
        return connection
    }

    // MARK: HTTP

    func get(_ path: String) throws -> (status: Int, body: String) {
        try HTTPProbe.get(port: port, path)
    }

    func health() throws -> [String: Any] {
        let body = try get("/healthz").body
        return (try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]) ?? [:]
    }

    /// Sum of a metric's samples in `/metrics` (all label sets), or nil when absent.
    func metric(_ name: String, labels: String? = nil) throws -> Double? {
        HTTPProbe.metric(name, labels: labels, in: try get("/metrics").body)
    }

    /// Polls until `condition` holds or `timeout` passes.
    func eventually(timeout: Duration = .seconds(60), _ what: String, _ condition: () throws -> Bool) async throws {
        try await waitUntil(what, timeout: timeout, every: .milliseconds(50), context: { "gateway log:\n\(gateway.log.suffix(3000))" }) {
            (try? condition()) == true
        }
    }
}

/// Runs `body` with a started harness and stops it whether `body` returns or throws, so a failing
/// test leaves no gateway or nats-server behind.
func withHarness(
    _ environment: [String: String] = [:], jetStream: Bool = false, _ body: (GatewayHarness) async throws -> Void
) async throws {
    let harness = try await GatewayHarness.start(environment: environment, jetStream: jetStream)
    do {
        try await body(harness)
    } catch {
        await harness.stop()
        throw error
    }
    await harness.stop()
}

/// Reads until the server's close frame and returns its code; nil when the socket ended without
/// one or nothing came for `timeout`.
func closeCode(_ client: WebSocketConnection, timeout: TimeAmount = .seconds(20)) async -> UInt16? {
    while true {
        guard let message = try? await client.next(timeout: timeout) else { return nil }
        if message.opcode == WebSocketMessage.close { return message.closeCode }
    }
}

/// Plays the aggregator for one group on the test's NATS client: numbered batches of full
/// symbol states, snapshots of the same state, and answers to `xy.md.snapshot.get.<group>`.
final class ScriptedGroup: @unchecked Sendable {
    let group: String
    let symbols: [String]
    private let lock = NSLock()
    private var state: [String: Xy_Md_V1_SymbolTick] = [:]
    private(set) var seq: UInt64 = 0
    private var responder: NATSSubscription?
    private let client: NATSClient
    init(client: NATSClient, group: String = "demo", symbols: [String] = ["AAA", "BBB", "CCC"]) {
        self.client = client
        self.group = group
        self.symbols = symbols
        for (index, symbol) in symbols.enumerated() {
            var tick = Xy_Md_V1_SymbolTick()
            tick.symbol = symbol
            tick.last = 100 + Double(index)
            state[symbol] = tick
        }
    }

    /// Stops answering snapshot requests (a producer that went away).
    func stopResponding() throws {
        lock.lock()
        let responder = self.responder
        self.responder = nil
        lock.unlock()
        try responder?.unsubscribe()
    }

    /// Starts answering snapshot requests.
    func respond() throws {
        responder = try client.subscribe("xy.md.snapshot.get." + group) { [self] message in
            guard let reply = message.replyTo else { return }
            try? client.publish(reply, payload: ByteBuffer(bytes: try! snapshot().serializedBytes() as [UInt8]))
        }
    }

    func snapshot() -> Xy_Md_V1_Snapshot {
        lock.lock()
        defer { lock.unlock() }
        var snapshot = Xy_Md_V1_Snapshot()
        snapshot.group = group
        snapshot.seq = seq
        snapshot.timeNs = Int64(Date().timeIntervalSince1970 * 1e9)
        snapshot.ticks = symbols.compactMap { state[$0] }
        return snapshot
    }

    /// Publishes the next batch (every symbol changes) and returns it; `skip` leaves seqs out (a gap).
    @discardableResult
    func publishBatch(skip: UInt64 = 0) throws -> Xy_Md_V1_TickBatch {
        lock.lock()
        seq += 1 + skip
        var batch = Xy_Md_V1_TickBatch()
        batch.group = group
        batch.seq = seq
        batch.publishTimeNs = Int64(Date().timeIntervalSince1970 * 1e9)
        for symbol in symbols {
            var tick = state[symbol]!
            tick.last += 0.01
            tick.volume += 1
            tick.eventTimeNs = batch.publishTimeNs
            state[symbol] = tick
            batch.ticks.append(tick)
        }
        lock.unlock()
        try client.publish("xy.md.tick." + group, payload: ByteBuffer(bytes: try batch.serializedBytes() as [UInt8]))
        return batch
    }

    func publishSnapshot() throws {
        try client.publish("xy.md.snapshot." + group, payload: ByteBuffer(bytes: try snapshot().serializedBytes() as [UInt8]))
    }
}

/// A JSON envelope as a client reads it.
struct Envelope {
    let object: [String: Any]

    init(_ text: String) throws {
        guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw ManagedProcessError("not a JSON object: \(text.prefix(200))")
        }
        self.object = object
    }

    var type: String { object["type"] as? String ?? "" }
    var subject: String? { object["subject"] as? String }
    var data: [String: Any] { object["data"] as? [String: Any] ?? [:] }
    var seq: UInt64 { (data["seq"] as? NSNumber)?.uint64Value ?? 0 }
    /// The envelope's epoch (a decimal string), as a number.
    var epoch: UInt64? { (object["epoch"] as? String).flatMap { UInt64($0) } }
    var firstSeq: UInt64 { (data["firstSeq"] as? NSNumber)?.uint64Value ?? seq }
    var code: String? { data["code"] as? String }
    var ticks: [[String: Any]] { data["ticks"] as? [[String: Any]] ?? [] }

    /// `type`, `firstSeq` and `seq` read from the start of a frame without parsing the rest.
    static func head(_ text: String) -> (type: String, firstSeq: UInt64, seq: UInt64)? {
        let prefix = text.prefix(400)
        func value(after key: String) -> Substring? {
            guard let range = prefix.range(of: key) else { return nil }
            return prefix[range.upperBound...].prefix { $0 != "," && $0 != "\"" && $0 != "}" }
        }
        guard let type = value(after: "\"type\":\""), let seq = value(after: "\"seq\":").flatMap({ UInt64($0) }) else { return nil }
        let firstSeq = value(after: "\"firstSeq\":").flatMap { UInt64($0) } ?? seq
        return (String(type), firstSeq, seq)
    }
}

extension WebSocketConnection {
    /// The next JSON envelope.
    func envelope(timeout: TimeAmount = .seconds(10)) async throws -> Envelope {
        try Envelope(try await nextText(timeout: timeout))
    }

    /// Envelopes until one of `type` arrives (returned); the others are dropped.
    func envelope(ofType type: String, timeout: TimeAmount = .seconds(10)) async throws -> Envelope {
        while true {
            let next = try await envelope(timeout: timeout)
            if next.type == type { return next }
        }
    }
}

import Foundation
import NATS
import NATSTestSupport
import SwiftProtobuf
import XYContracts

/// One test's stack on free loopback ports: the real nats-server, the real `xy sim polygon`
/// binary, and the real `xy-realtime` binary, stopped by ``stop()``.
final class RealtimeHarness: @unchecked Sendable {
    static let apiKey = "pk_test_9f8e7d6c5b4a3210"

    let nats: NATSServer
    let sim: ManagedProcess
    let simPort: Int
    var realtime: ManagedProcess
    var httpPort: Int
    private var clients: [NATSClient] = []

    /// Starts everything and waits until xy-realtime serves HTTP.
    static func start(simArguments: [String], environment: [String: String] = [:]) async throws -> RealtimeHarness {
        let nats = try await NATSServer.start()
        let (sim, simPort) = try await startSimulator(["--api-key", apiKey] + simArguments)
        let (realtime, httpPort) = try await startRealtime(natsURL: nats.url, simPort: simPort, environment: environment)
        return RealtimeHarness(nats: nats, sim: sim, simPort: simPort, realtime: realtime, httpPort: httpPort)
    }

    /// Starts `xy sim polygon` on a free loopback port with `arguments`; returns it and its port.
    static func startSimulator(_ arguments: [String]) async throws -> (ManagedProcess, Int) {
        let sim = try ManagedProcess("xy", arguments: ["sim", "polygon", "--listen", "127.0.0.1:0"] + arguments)
        let port = try await sim.waitForOutput { text in
            text.split(separator: "\n").first { $0.hasPrefix("listening ") }.map { String($0.split(separator: ":").last ?? "") }
        }
        guard let number = Int(port) else { throw ManagedProcessError("xy sim polygon printed no port; log:\n\(sim.log.suffix(2000))") }
        return (sim, number)
    }

    static func startRealtime(natsURL: String, simPort: Int, environment: [String: String]) async throws -> (ManagedProcess, Int) {
        var env = [
            "NATS_URLS": natsURL,
            "UPSTREAM_URL": "ws://127.0.0.1:\(simPort)/stocks",
            "UPSTREAM_API_KEY": apiKey,
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": "0",
            "HEALTH_INTERVAL": "1s",
            "UPSTREAM_BACKOFF_INITIAL": "100ms",
            "UPSTREAM_BACKOFF_MAX": "1s",
            "LOG_LEVEL": "debug",
        ]
        for (key, value) in environment { env[key] = value }
        let realtime = try ManagedProcess("xy-realtime", environment: env)
        return (realtime, try await realtime.waitForHTTPPort(loggedWith: "HTTP listening"))
    }

    private init(nats: NATSServer, sim: ManagedProcess, simPort: Int, realtime: ManagedProcess, httpPort: Int) {
        self.nats = nats
        self.sim = sim
        self.simPort = simPort
        self.realtime = realtime
        self.httpPort = httpPort
    }

    /// A NATS client of the test's own, collecting every MarketEvent from now on.
    func collectEvents() async throws -> EventCollector {
        let client = try await NATSClient.connect(url: nats.url)
        clients.append(client)
        let collector = EventCollector()
        try collector.start(client)
        try await client.flush()
        return collector
    }

    /// The test's client, for requests.
    var client: NATSClient? { clients.first }

    func stop() async {
        for client in clients { await client.close() }
        await realtime.terminate()
        await sim.terminate()
        await nats.stop()
    }

    /// `GET path` on xy-realtime's HTTP port: status code and body.
    func get(_ path: String) throws -> (status: Int, body: String) {
        try Self.get(port: httpPort, path)
    }

    static func get(port: Int, _ path: String) throws -> (status: Int, body: String) {
        try HTTPProbe.get(port: port, path)
    }

    /// Sum of a metric's samples in `/metrics` (all label sets), or nil when absent.
    func metric(_ name: String, labels: String? = nil) throws -> Double? {
        HTTPProbe.metric(name, labels: labels, in: try get("/metrics").body)
    }

    /// Polls until `condition` holds or `timeout` passes.
    func eventually(timeout: Duration = .seconds(20), _ what: String, _ condition: () throws -> Bool) async throws {
        try await waitUntil(what, timeout: timeout, every: .milliseconds(100), context: { "realtime log:\n\(realtime.log.suffix(3000))" }) {
            (try? condition()) == true
        }
    }
}

/// Collects MarketEvents from NATS.
final class EventCollector: @unchecked Sendable {
    private let received = LockedValue<(events: [Xy_Md_V1_MarketEvent], subjects: [String])>(([], []))
    private(set) var subscription: NATSSubscription?

    func start(_ client: NATSClient) throws {
        subscription = try client.subscribe(Subjects.allEvents) { [received] message in
            guard let event = try? Xy_Md_V1_MarketEvent(serializedBytes: Array(message.payload.readableBytesView)) else { return }
            received.withLock {
                $0.events.append(event)
                $0.subjects.append(message.subject)
            }
        }
    }

    var count: Int { received.withLock { $0.events.count } }

    var snapshot: [Xy_Md_V1_MarketEvent] { received.withLock { $0.events } }

    var receivedSubjects: [String] { received.withLock { $0.subjects } }

    func waitFor(count target: Int, timeout: Duration = .seconds(30)) async throws {
        try await waitUntil("\(target) events", timeout: timeout, every: .milliseconds(50), context: { "only \(count) arrived" }) {
            count >= target
        }
    }
}

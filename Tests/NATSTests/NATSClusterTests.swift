import Foundation
import NATS
import NATSTestSupport
import Testing

@Suite("Cluster discovery")
struct NATSClusterTests {
    @Test("servers announced in INFO connect_urls join the pool: losing the only configured server moves the client to a discovered one")
    func discoveredFailover() async throws {
        let first = try await NATSServer.start(.init(extra: "cluster { name: xy, listen: \"127.0.0.1:-1\" }\n"))
        let routePort = try #require(Self.routePort(in: first.log), "no route port in the log:\n\(first.log)")
        let second = try await NATSServer.start(.init(extra: "cluster { name: xy, listen: \"127.0.0.1:-1\", routes: [\"nats://127.0.0.1:\(routePort)\"] }\n"))
        let client = try await connect(first)  // only the first server is configured
        let deadline = ContinuousClock.now + .seconds(10)
        while !(client.serverInfo?.connectURLs ?? []).contains(where: { $0.hasSuffix(":\(second.port)") }) {
            try #require(ContinuousClock.now < deadline, "the cluster never announced the second server")
            try await Task.sleep(for: .milliseconds(50))
        }
        let subscription = try client.subscribe("cluster.x")
        try await client.flush()
        await first.stop()
        let moved = try await waitForEvent(client) { if case .reconnected = $0 { true } else { false } }
        #expect(moved == .reconnected(server: "nats://127.0.0.1:\(second.port)"))
        let publisher = try await connect(second)
        try await client.flush()
        try publisher.publish("cluster.x", "via the discovered server")
        #expect(try await collect(subscription, count: 1)[0].string == "via the discovered server")
        await publisher.close()
        await client.close()
        await second.stop()
    }

    /// The port from nats-server's "Listening for route connections on HOST:PORT" line.
    static func routePort(in log: String) -> Int? {
        for line in log.split(separator: "\n") where line.contains("Listening for route connections on") {
            if let port = line.split(separator: ":").last.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) { return port }
        }
        return nil
    }
}

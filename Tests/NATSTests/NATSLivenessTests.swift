import Foundation
import NATS
import NATSTestSupport
import NIOCore
import Testing

/// Waits for the first event that `match` accepts, failing after `within`.
func waitForEvent(_ client: NATSClient, within: Duration = .seconds(15), _ match: @escaping @Sendable (NATSConnectionEvent) -> Bool) async throws -> NATSConnectionEvent {
    try await withThrowingTaskGroup(of: NATSConnectionEvent?.self) { group in
        group.addTask {
            for await event in client.events where match(event) { return event }
            return nil
        }
        group.addTask {
            try await Task.sleep(for: within)
            return nil
        }
        let first = try await group.next() ?? nil
        group.cancelAll()
        guard let first else { throw NATSError(.timeout, "expected connection event did not come within \(within)") }
        return first
    }
}

@Suite("Liveness: stale links and lame duck mode")
struct NATSLivenessTests {
    @Test("a server that stops answering PINGs is detected as stale, and the client reconnects when it answers again")
    func staleConnection() async throws {
        let server = try await NATSServer.start()
        // Stale after two unanswered PINGs, 0.5 s apart: short enough for a quick test, long
        // enough that a server merely slowed by a loaded CI machine still answers in time.
        let client = try await connect(server) {
            $0.pingInterval = .milliseconds(500)
            $0.maxPingsOutstanding = 2
            $0.connectTimeout = .milliseconds(500)
        }
        let subscription = try client.subscribe("alive")
        try await client.flush()
        _ = try await waitForEvent(client) { if case .connected = $0 { true } else { false } }
        server.freeze()  // the TCP connection stays open; only the answers stop
        let disconnected = try await waitForEvent(client) { if case .disconnected = $0 { true } else { false } }
        guard case .disconnected(let reason) = disconnected else { return }
        #expect(reason.contains("stale"))
        server.thaw()
        _ = try await waitForEvent(client) { if case .reconnected = $0 { true } else { false } }
        try client.publish("alive", "again")
        #expect(try await collect(subscription, count: 1)[0].string == "again")
        await client.close()
        await server.stop()
    }

    @Test("lame duck mode is reported, and the client moves on to another server of its pool")
    func lameDuck() async throws {
        let ducking = try await NATSServer.start(.init(extra: "lame_duck_duration: \"30s\"\nlame_duck_grace_period: \"100ms\"\n"))
        let spare = try await NATSServer.start()
        let client = try await connect(ducking) {
            $0.servers = [try! NATSServerAddress(parsing: ducking.url), try! NATSServerAddress(parsing: spare.url)]
            $0.noRandomize = true
        }
        _ = try await waitForEvent(client) { if case .connected = $0 { true } else { false } }
        ducking.enterLameDuckMode()
        let event = try await waitForEvent(client) { if case .lameDuckMode = $0 { true } else { false } }
        #expect(event == .lameDuckMode(server: "nats://127.0.0.1:\(ducking.port)"))
        await ducking.stop()
        let moved = try await waitForEvent(client) { if case .reconnected = $0 { true } else { false } }
        #expect(moved == .reconnected(server: "nats://127.0.0.1:\(spare.port)"))
        let subscription = try client.subscribe("after.move")
        try client.publish("after.move", "on the spare")
        #expect(try await collect(subscription, count: 1)[0].string == "on the spare")
        await client.close()
        await spare.stop()
    }
}

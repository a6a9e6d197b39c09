import Foundation
import NATS
import NATSTestSupport
import SwiftProtobuf
import Testing
import XYContracts

/// Leases end to end: the real nats-server, the real simulator and the real xy-realtime, fed
/// `SymbolLease`s the way gateways send them. The simulator sends a symbol's events only while it
/// is subscribed, and realtime publishes them in the vendor's order on one connection, so the
/// order of the events on NATS shows when the simulator applied each change.
@Suite("xy-realtime follows the gateways' leases", .serialized)
struct RealtimeLeaseTests {
    @Test("a lease subscribes upstream; over the quota it is refused; a lapsed lease's own symbols are reclaimed (at once when a refused one needs the room, else after the grace); shared and configured ones stay")
    func leasesDriveTheVendorSubscription() async throws {
        let harness = try await RealtimeHarness.start(
            simArguments: ["--symbols", "AAPL,IBM,SPY,TSLA,NVDA", "--rate", "400", "--seed", "3"],
            environment: ["UPSTREAM_SYMBOLS": "AAPL", "UPSTREAM_CHANNELS": "T", "UPSTREAM_MAX_SYMBOLS": "3", "UPSTREAM_LEASE_GRACE": "1s"]
        )
        let events = try await harness.collectEvents()
        let client = try await NATSClient.connect(url: harness.nats.url)
        let changes = LockedValue<[Xy_Ctl_V1_UpstreamChange]>([])
        _ = try client.subscribe(Subjects.upstreamChanged) { message in
            guard let change = try? Xy_Ctl_V1_UpstreamChange(serializedBytes: Array(message.payload.readableBytesView)) else { return }
            changes.withLock { $0.append(change) }
        }
        try await client.flush()
        try await harness.eventually("streaming AAPL") { events.snapshot.contains { $0.symbol == "AAPL" } }

        // gw-1 leases IBM and SPY: both subscribed upstream at once, and the change is told.
        _ = try publishLease(client, instance: "gw-1", symbols: ["IBM", "SPY"], revision: 1, lifetime: .seconds(30))
        try await harness.eventually("the simulator streams IBM and SPY") {
            let symbols = Set(events.snapshot.map(\.symbol))
            return symbols.isSuperset(of: ["IBM", "SPY"])
        }
        try await harness.eventually("the change announced") { changes.withLock { $0.contains { $0.added == ["IBM", "SPY"] } } }
        let first = changes.withLock { $0.first { $0.added == ["IBM", "SPY"] } }
        #expect(first?.streamed == 3)
        #expect(first?.quota == 3)
        #expect(first?.instance.isEmpty == false)

        // gw-2 shares SPY and wants TSLA: the quota (AAPL, IBM, SPY) is full, TSLA refused.
        _ = try publishLease(client, instance: "gw-2", symbols: ["SPY", "TSLA"], revision: 1, lifetime: .seconds(120))
        try await harness.eventually("TSLA refused") { changes.withLock { $0.contains { $0.refused == ["TSLA"] && $0.refusedCount == 1 } } }
        let health = try harness.get("/healthz").body
        #expect(health.contains("\"upstream_symbols\":\"3\""), "\(health)")
        #expect(health.contains("\"upstream_quota\":\"3\""), "\(health)")
        #expect(try harness.metric("xy_upstream_refused_symbols") == 1)
        #expect(try harness.metric("xy_upstream_leases") == 2)
        #expect(try harness.metric("xy_upstream_leased_symbols") == 3)

        // gw-1 dies: its last renewal lives one second and is never renewed. When it lapses IBM is
        // unsubscribed without waiting for its grace, because TSLA (leased, refused) needs the room;
        // SPY, still leased by gw-2, stays.
        let lastRenewal = try publishLease(client, instance: "gw-1", symbols: ["IBM", "SPY"], revision: 2, lifetime: .seconds(1))
        try await harness.eventually("IBM reclaimed") { changes.withLock { $0.contains { $0.removed.contains("IBM") } } }
        let reclaim = changes.withLock { $0.first { $0.removed.contains("IBM") } }
        #expect(reclaim?.removed == ["IBM"])
        #expect(reclaim?.added == ["TSLA"])
        #expect(reclaim?.refused == [])
        // Not before the lease lapsed (the same host's wall clock).
        #expect((reclaim?.timeNs ?? 0) >= lastRenewal + 1_000_000_000)
        // The unsubscribe of IBM went out before the subscribe of TSLA: once TSLA streams, IBM never
        // again, while SPY (shared) and AAPL (configured) go on.
        try await harness.eventually("TSLA streams, then 200 events more") {
            let received = events.snapshot
            guard let firstTSLA = received.firstIndex(where: { $0.symbol == "TSLA" }) else { return false }
            return received.count > firstTSLA + 200
        }
        let received = events.snapshot
        let firstTSLA = received.firstIndex { $0.symbol == "TSLA" }!
        let after = received[firstTSLA...]
        #expect(!after.contains { $0.symbol == "IBM" }, "IBM still streamed after it was reclaimed")
        #expect(after.contains { $0.symbol == "SPY" })
        #expect(after.contains { $0.symbol == "AAPL" })
        #expect(try harness.metric("xy_upstream_reclaimed_symbols_total") == 1)
        #expect(try harness.metric("xy_upstream_leases") == 1)

        // gw-2 shuts down cleanly (an empty lease): nobody waits for room, so SPY and TSLA go only
        // after the grace period; AAPL, configured, never.
        let released = try publishLease(client, instance: "gw-2", symbols: [], revision: 2, lifetime: .zero)
        try await harness.eventually("SPY and TSLA reclaimed") { changes.withLock { $0.contains { $0.removed == ["SPY", "TSLA"] } } }
        let last = changes.withLock { $0.first { $0.removed == ["SPY", "TSLA"] } }
        #expect((last?.timeNs ?? 0) >= released + 1_000_000_000)
        try await harness.eventually("only AAPL streams: the last 150 events") {
            let received = events.snapshot
            return received.count > 150 && received.suffix(150).allSatisfy { $0.symbol == "AAPL" }
        }
        #expect(!changes.withLock { $0.contains { $0.removed.contains("AAPL") } })
        #expect(try harness.metric("xy_upstream_streamed_symbols") == 1)

        // Garbage and a lease naming another instance than its subject are dropped and counted; the service carries on.
        try client.publish(Subjects.leasePrefix + "gw-3", "not a lease")
        var forged = Xy_Ctl_V1_SymbolLease()
        forged.instance = "gw-4"
        forged.symbols = ["NVDA"]
        forged.issuedAtNs = Self.now()
        forged.expiresAtNs = Self.now() + 60_000_000_000
        forged.revision = 1
        try client.publish(Subjects.leasePrefix + "gw-3", bytes: try forged.serializedBytes())
        try await harness.eventually("two malformed leases counted") { try harness.metric("xy_upstream_lease_malformed_total") == 2 }
        #expect(!changes.withLock { $0.contains { $0.added.contains("NVDA") } })
        #expect(try harness.get("/healthz").status == 200)

        await client.close()
        await harness.stop()
    }

    @Test("two gateways overlap, one stops renewing with room to spare: its own symbol goes only after the grace, the shared one stays")
    func lapsedGatewayAfterGrace() async throws {
        let harness = try await RealtimeHarness.start(
            simArguments: ["--symbols", "AAPL,IBM,SPY", "--rate", "400", "--seed", "5"],
            environment: ["UPSTREAM_SYMBOLS": "AAPL", "UPSTREAM_CHANNELS": "T", "UPSTREAM_MAX_SYMBOLS": "10", "UPSTREAM_LEASE_GRACE": "2s"]
        )
        let events = try await harness.collectEvents()
        let client = try await NATSClient.connect(url: harness.nats.url)
        let changes = LockedValue<[Xy_Ctl_V1_UpstreamChange]>([])
        _ = try client.subscribe(Subjects.upstreamChanged) { message in
            guard let change = try? Xy_Ctl_V1_UpstreamChange(serializedBytes: Array(message.payload.readableBytesView)) else { return }
            changes.withLock { $0.append(change) }
        }
        try await client.flush()
        _ = try publishLease(client, instance: "gw-b", symbols: ["SPY"], revision: 1, lifetime: .seconds(120))
        let lastRenewal = try publishLease(client, instance: "gw-a", symbols: ["IBM", "SPY"], revision: 1, lifetime: .seconds(1))
        try await harness.eventually("IBM and SPY stream") { Set(events.snapshot.map(\.symbol)).isSuperset(of: ["AAPL", "IBM", "SPY"]) }
        try await harness.eventually("IBM reclaimed") { changes.withLock { $0.contains { $0.removed == ["IBM"] } } }
        let reclaim = changes.withLock { $0.first { $0.removed == ["IBM"] } }
        // The lease lapsed after 1 s, then the grace of 2 s ran.
        #expect((reclaim?.timeNs ?? 0) >= lastRenewal + 3_000_000_000)
        #expect(reclaim?.streamed == 2)
        #expect(harness.realtime.log.split(separator: "\n").contains { $0.contains("stopped renewing") && $0.contains("\"gw-a\"") })
        try await harness.eventually("no IBM in the last 150 events, SPY and AAPL among them") {
            let recent = events.snapshot.suffix(150)
            return recent.count == 150 && !recent.contains { $0.symbol == "IBM" } && recent.contains { $0.symbol == "SPY" } && recent.contains { $0.symbol == "AAPL" }
        }
        #expect(!changes.withLock { $0.contains { $0.removed.contains("SPY") || $0.removed.contains("AAPL") } })
        #expect(try harness.metric("xy_upstream_reclaimed_symbols_total") == 1)

        // A lease far over the quota: the room (10 - AAPL - SPY) goes to the first 8, the change
        // lists the first 1000 refused and counts all 1192.
        let many = (1...1200).map { String(format: "X%04d", $0) }
        _ = try publishLease(client, instance: "gw-c", symbols: many, revision: 1, lifetime: .seconds(60))
        try await harness.eventually("the big lease decided") { changes.withLock { $0.contains { $0.refusedCount == 1192 } } }
        let big = changes.withLock { $0.first { $0.refusedCount == 1192 } }
        #expect(big?.added == Array(many.prefix(8)))
        #expect(big?.refused == Array(many.dropFirst(8).prefix(1000)))
        #expect(big?.streamed == 10)
        #expect(try harness.metric("xy_upstream_refused_symbols") == 1192)
        await client.close()
        await harness.stop()
    }

    /// Publishes one lease as a gateway does; returns its `issued_at_ns`.
    private func publishLease(_ client: NATSClient, instance: String, symbols: [String], revision: UInt64, lifetime: Duration) throws -> Int64 {
        var lease = Xy_Ctl_V1_SymbolLease()
        lease.instance = instance
        lease.symbols = symbols
        lease.issuedAtNs = Self.now()
        lease.expiresAtNs = lease.issuedAtNs + lifetime.components.seconds * 1_000_000_000 + lifetime.components.attoseconds / 1_000_000_000
        lease.revision = revision
        try client.publish(try Subjects.lease(instance: instance), bytes: try lease.serializedBytes())
        return lease.issuedAtNs
    }

    private static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1e9) }

}

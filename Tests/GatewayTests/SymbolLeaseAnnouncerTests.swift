import Gateway
import Logging
import NATS
import NATSTestSupport
import SwiftProtobuf
import Testing
import XYContracts

/// The gateway's lease announcer against the real nats-server: renewals carry the whole current
/// set, and stopping sends the empty lease that releases it.
@Suite("SymbolLeaseAnnouncer", .serialized)
struct SymbolLeaseAnnouncerTests {
    @Test("renews the whole current set every interval with a lifetime of three intervals; stopping releases it with an empty lease")
    func renewsAndReleases() async throws {
        let server = try await NATSServer.start(.init())
        let announcerClient = try await NATSClient.connect(url: server.url)
        let reader = try await NATSClient.connect(url: server.url)
        let received = LockedValue<[(subject: String, lease: Xy_Ctl_V1_SymbolLease)]>([])
        _ = try reader.subscribe(Subjects.allLeases) { message in
            guard let lease = try? Xy_Ctl_V1_SymbolLease(serializedBytes: Array(message.payload.readableBytesView)) else { return }
            received.withLock { $0.append((message.subject, lease)) }
        }
        try await reader.flush()

        let watched = LockedValue<[String]>(["MSFT", "AAPL", "MSFT"])
        let announcer = try SymbolLeaseAnnouncer(
            nats: announcerClient, instance: "gw-test", interval: .milliseconds(200), logger: Logger(label: "lease-test")
        ) { watched.current }
        let running = Task { try await announcer.run() }

        try await waitUntil("two renewals") { received.withLock { $0.count } >= 2 }
        let early = received.withLock { $0 }
        #expect(early.allSatisfy { $0.subject == "xy.ctl.lease.gw-test" && $0.lease.instance == "gw-test" })
        #expect(early[0].lease.symbols == ["AAPL", "MSFT"])
        #expect(early[0].lease.revision == 1)
        #expect(early[1].lease.revision == 2)
        #expect(early[0].lease.expiresAtNs - early[0].lease.issuedAtNs == 600_000_000)
        #expect(early[1].lease.issuedAtNs > early[0].lease.issuedAtNs)

        // The set changes: the next renewal carries the new whole set.
        watched.withLock { $0 = ["IBM"] }
        try await waitUntil("a renewal with IBM only") { received.withLock { $0.contains { $0.lease.symbols == ["IBM"] } } }

        // Stopping: one last lease with no symbols that expires as it is issued.
        running.cancel()
        try await running.value
        try await waitUntil("the releasing lease") { received.withLock { $0.last?.lease.symbols.isEmpty == true } }
        let all = received.withLock { $0 }
        let last = all[all.count - 1].lease
        #expect(last.expiresAtNs == last.issuedAtNs)
        #expect(last.revision == all[all.count - 2].lease.revision + 1)
        #expect(all.map(\.lease.revision) == Array(1...UInt64(all.count)))

        await announcerClient.close()
        await reader.close()
        await server.stop()
    }

    @Test("an instance id that cannot be a subject token is refused")
    func invalidInstance() async throws {
        let server = try await NATSServer.start(.init())
        let client = try await NATSClient.connect(url: server.url)
        #expect(throws: SubjectTokenError.self) {
            _ = try SymbolLeaseAnnouncer(nats: client, instance: "host.example.com-12", logger: Logger(label: "lease-test")) { [] }
        }
        await client.close()
        await server.stop()
    }
}

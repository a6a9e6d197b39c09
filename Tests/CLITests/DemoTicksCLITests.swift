import Foundation
import NATS
import NATSTestSupport
import NIOCore
import Testing
import XYContracts

@Suite("xy demo ticks")
struct DemoTicksCLITests {
    @Test("publishes --count TickBatches to xy.md.tick.<group> with a rising seq, the schema header and one epoch")
    func publishes() async throws {
        let server = try await NATSServer.start()
        let client = try await NATSClient.connect(NATSClientOptions(url: server.url))
        let subscription = try client.subscribe("xy.md.tick.>")
        try await client.flush()

        let before = UInt64(Date().timeIntervalSince1970 * 1e9)
        let result = try await XYCommand.run(["demo", "ticks", "-s", server.url, "--group", "lab", "--symbols", "aapl, BRK.B,msft",
                                              "--interval", "1ms", "--count", "5", "--first-seq", "10", "--seed", "3"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("published 5 batches to xy.md.tick.lab"))

        var batches: [Xy_Md_V1_TickBatch] = []
        for message in try await Self.next(5, of: subscription, within: .seconds(30)) {
            #expect(message.subject == "xy.md.tick.lab")
            #expect(message.headers?[Subjects.schemaHeader] == "xy.md.v1.TickBatch")
            batches.append(try Xy_Md_V1_TickBatch(serializedBytes: Array(message.payload.readableBytesView)))
        }
        #expect(batches.map(\.seq) == [10, 11, 12, 13, 14])
        #expect(batches.allSatisfy { $0.group == "lab" && !$0.ticks.isEmpty && $0.publishTimeNs > 1_700_000_000_000_000_000 })
        #expect(Set(batches.flatMap { $0.ticks.map(\.symbol) }).isSubset(of: ["AAPL", "BRK.B", "MSFT"]))
        let epoch = try #require(batches.first?.epoch)
        #expect(epoch >= before && batches.allSatisfy { $0.epoch == epoch }, "the run's start time in Unix ns, on every batch")
        #expect(result.stderr.contains("epoch \(epoch)"))
        await client.close()
        await server.stop()
    }

    /// The next `count` messages of `subscription`, or a failure after `within` (never a hang).
    private static func next(_ count: Int, of subscription: NATSSubscription, within: Duration) async throws -> [NATSMessage] {
        try await withThrowingTaskGroup(of: [NATSMessage]?.self) { group in
            group.addTask {
                var messages: [NATSMessage] = []
                for try await message in subscription {
                    messages.append(message)
                    if messages.count == count { break }
                }
                return messages
            }
            group.addTask {
                try await Task.sleep(for: within)
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            guard let messages = first, messages.count == count else {
                throw ManagedProcessError("fewer than \(count) messages on \(subscription.subject) within \(within)")
            }
            return messages
        }
    }

    @Test("its own group by default; periodic snapshots continue the batches' seq; snapshot requests are answered")
    func snapshots() async throws {
        let server = try await NATSServer.start()
        let client = try await NATSClient.connect(NATSClientOptions(url: server.url))
        let batches = try client.subscribe("xy.md.tick.cli-demo")
        let snapshots = try client.subscribe("xy.md.snapshot.cli-demo")
        try await client.flush()

        // 300 batches at 20 ms: about six seconds, so the responder is still up for the request
        // below on a loaded machine. Each subscription is read by one loop only: an iterator that
        // stops keeps the messages it had already taken in.
        let demo = try XYCommand.start(["demo", "ticks", "-s", server.url, "--interval", "20ms", "--snapshot-interval", "100ms",
                                        "--count", "300", "--symbols", "AAPL,MSFT,SPY", "--seed", "7"])
        let publishedMessages = try await Self.next(2, of: snapshots, within: .seconds(30))
        for message in publishedMessages { #expect(message.headers?[Subjects.schemaHeader] == "xy.md.v1.Snapshot") }
        let published = try publishedMessages.map { try Xy_Md_V1_Snapshot(serializedBytes: Array($0.payload.readableBytesView)) }
        let reply = try await client.request("xy.md.snapshot.get.cli-demo", payload: ByteBuffer(), timeout: .seconds(5))
        #expect(reply.headers?[Subjects.schemaHeader] == "xy.md.v1.Snapshot")
        let answered = try Xy_Md_V1_Snapshot(serializedBytes: Array(reply.payload.readableBytesView))
        #expect(answered.group == "cli-demo" && answered.epoch == published[0].epoch && answered.seq >= published[1].seq)
        #expect(Set(answered.ticks.map(\.symbol)) == ["AAPL", "MSFT", "SPY"])

        let result = try await demo.wait(timeout: .seconds(60))
        #expect(result.status == 0, "\(result.stderr)")
        let received = try await Self.next(300, of: batches, within: .seconds(30)).map {
            try Xy_Md_V1_TickBatch(serializedBytes: Array($0.payload.readableBytesView))
        }
        #expect(received.map(\.seq) == Array(1...300))
        for snapshot in published {
            #expect(snapshot.group == "cli-demo" && snapshot.epoch == received[0].epoch)
            // A snapshot is the state after the batch it names: batches 1…seq rebuild it exactly.
            var latest: [String: Xy_Md_V1_SymbolTick] = [:]
            for batch in received where batch.seq <= snapshot.seq {
                for tick in batch.ticks { latest[tick.symbol] = tick }
            }
            #expect(snapshot.seq >= 1 && Dictionary(uniqueKeysWithValues: snapshot.ticks.map { ($0.symbol, $0) }) == latest)
        }
        #expect(published[1].seq > published[0].seq)
        await client.close()
        await server.stop()
    }

    @Test("a user that may not publish the group fails at the first batch with the server's words")
    func refused() async throws {
        let limited = Permissions(publishAllow: ["xy.md.snapshot.get.*"], subscribeAllow: ["xy.>", "_INBOX.>"])
        let server = try await NATSServer.start(.init(users: [.init(user: "cli", password: "pw", permissions: limited)]))
        let result = try await XYCommand.run(["demo", "ticks", "-s", server.url, "--user", "cli", "--password", "pw", "--count", "100"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("Permissions Violation for Publish to \"xy.md.tick.cli-demo\""), "\(result.stderr)")
        await server.stop()
    }

    @Test("a group that cannot be a subject token is refused before connecting")
    func badGroup() async throws {
        let result = try await XYCommand.run(["demo", "ticks", "--group", "a.b", "--count", "1", "-s", "nats://127.0.0.1:1"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("group 'a.b' contains '.'"), "\(result.stderr)")
    }
}

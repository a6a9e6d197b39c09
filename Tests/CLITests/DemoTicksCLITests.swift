import Foundation
import NATS
import NATSTestSupport
import NIOCore
import Testing
import XYContracts

@Suite("xy demo ticks")
struct DemoTicksCLITests {
    @Test("publishes --count TickBatches to xy.md.tick.<group> with a rising seq and the schema header")
    func publishes() async throws {
        let server = try await NATSServer.start()
        let client = try await NATSClient.connect(NATSClientOptions(url: server.url))
        let subscription = try client.subscribe("xy.md.tick.>")
        try await client.flush()

        let result = try await XYCommand.run(["demo", "ticks", "-s", server.url, "--group", "lab", "--symbols", "aapl, BRK.B,msft",
                                              "--interval", "1ms", "--count", "5", "--first-seq", "10", "--seed", "3"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("published 5 batches to xy.md.tick.lab"))

        var batches: [Xy_Md_V1_TickBatch] = []
        for try await message in subscription {
            #expect(message.subject == "xy.md.tick.lab")
            #expect(message.headers?[Subjects.schemaHeader] == "xy.md.v1.TickBatch")
            batches.append(try Xy_Md_V1_TickBatch(serializedBytes: Array(message.payload.readableBytesView)))
            if batches.count == 5 { break }
        }
        #expect(batches.map(\.seq) == [10, 11, 12, 13, 14])
        #expect(batches.allSatisfy { $0.group == "lab" && !$0.ticks.isEmpty && $0.publishTimeNs > 1_700_000_000_000_000_000 })
        #expect(Set(batches.flatMap { $0.ticks.map(\.symbol) }).isSubset(of: ["AAPL", "BRK.B", "MSFT"]))
        await client.close()
        await server.stop()
    }

    @Test("a group that cannot be a subject token is refused before connecting")
    func badGroup() async throws {
        let result = try await XYCommand.run(["demo", "ticks", "--group", "a.b", "--count", "1", "-s", "nats://127.0.0.1:1"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("group 'a.b' contains '.'"), "\(result.stderr)")
    }
}

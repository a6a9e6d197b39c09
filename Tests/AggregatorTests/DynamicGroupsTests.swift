import Aggregator
import Foundation
import MarketData
import NATS
import NATSTestSupport
import NIOCore
import Testing
import XYContracts
import XYCore

/// Symbols no configured group names, against the real `nats-server -js`: folded into their dynamic
/// group (``SymbolGroups``) from their first event, shared between aggregators by ownership,
/// recovered after a restart, and dropped again by `reclaim(symbols:)`.
///
/// With 16 dynamic groups IBM and SNAP hash to `dyn-13`; with 4, GME to `dyn-00`, IBM to
/// `dyn-01`, TSLA and INTC to `dyn-03` (the hash's values are fixed in SymbolGroupsTests).
@Suite(.serialized) struct DynamicGroupsTests {
    static func configuration() -> AggregatorConfiguration {
        AggregatorConfiguration(
            groups: [.init(name: "demo", symbols: ["AAPL", "MSFT"])], tickInterval: .milliseconds(33), snapshotInterval: .seconds(2))
    }

    /// The environment path `main` takes: every group of AGG_GROUPS, 4 dynamic groups, `own` owned.
    static func configuration(owning own: String) throws -> AggregatorConfiguration {
        try AggregatorConfiguration(environment: EnvironmentReader([
            "AGG_GROUPS": "demo=AAPL,MSFT", "AGG_DYNAMIC_GROUPS": "4", "AGG_OWN_GROUPS": own,
            "TICK_INTERVAL": "33ms", "SNAPSHOT_INTERVAL": "2s",
        ]))
    }

    @Test func aNeverConfiguredSymbolIsBatchedAndSnapshottedInItsDynamicGroup() async throws {
        let server = try await NATSServer.start(.init(jetStream: true))
        let client = try await NATSClient.connect(url: server.url)
        let configuration = Self.configuration()
        #expect(configuration.symbolGroups.group(of: "IBM") == "dyn-13")
        #expect(configuration.dynamicGroups.count == 16, "every dynamic group is owned when AGG_OWN_GROUPS is unset")
        let aggregator = try await RunningAggregator.start(url: server.url, configuration: configuration)
        let ticks = try Collector(client, subject: "xy.md.tick.dyn-13")
        let snapshots = try Collector(client, subject: "xy.md.snapshot.dyn-13")
        let demoTicks = try Collector(client, subject: "xy.md.tick.demo")
        try await client.flush()

        // Published after the aggregator started: picked up with no restart.
        let source = EventSource(client)
        try source.trade("IBM", price: 180.5, size: 10)
        try source.quote("IBM", bid: 180.4, ask: 180.6)
        try source.trade("AAPL", price: 200, size: 1)
        try source.trade("IBM", price: 181, size: 20)
        try await waitUntilBatched(source, in: ticks)
        let batches = try ticks.batches()
        #expect(batches.allSatisfy { $0.group == "dyn-13" && $0.ticks.allSatisfy { $0.symbol == "IBM" } })
        #expect(batches.map(\.seq) == Array(1...UInt64(batches.count)), "a dynamic group numbers its batches like any group")
        #expect(batches.last?.ticks.last?.last == 181 && batches.last?.ticks.last?.volume == 30)
        try await waitUntil("the AAPL batch on demo") { try demoTicks.batches().contains { $0.ticks.contains { $0.symbol == "AAPL" } } }
        #expect(try demoTicks.batches().allSatisfy { $0.ticks.allSatisfy { $0.symbol != "IBM" } }, "IBM never reaches a configured group")

        let (answer, _) = try await requestSnapshot(client, group: "dyn-13")
        #expect(answer.group == "dyn-13" && answer.seq == batches.last?.seq)
        #expect(answer.ticksBySymbol["IBM"]?.last == 181)
        try await waitUntil("a periodic snapshot of dyn-13") { try snapshots.snapshots().contains { $0.ticksBySymbol["IBM"] != nil } }
        #expect(try snapshots.snapshots().allSatisfy { $0.epoch == batches[0].epoch })
        let held = try await aggregator.engine.heldSymbols().get()
        #expect(held["dyn-13"] == ["IBM"] && held["demo"] == ["AAPL", "MSFT"])
        #expect(held.filter { $0.key.hasPrefix("dyn-") && $0.key != "dyn-13" }.allSatisfy { $0.value.isEmpty })
        try await aggregator.stop()
        await client.close()
        await server.stop()
    }

    @Test func theExecutableFoldsANewSymbolIntoTheDynamicGroupItOwns() async throws {
        let server = try await NATSServer.start(.init(jetStream: true))
        let client = try await NATSClient.connect(url: server.url)
        let ticks = try Collector(client, subject: "xy.md.tick.>")
        try await client.flush()
        let aggregator = try ManagedProcess("xy-aggregator", environment: [
            "NATS_URLS": server.url, "HTTP_HOST": "127.0.0.1", "HTTP_PORT": "0", "LOG_LEVEL": "info",
            "AGG_GROUPS": "demo=AAPL", "AGG_DYNAMIC_GROUPS": "4", "AGG_OWN_GROUPS": "dyn-01", "TICK_INTERVAL": "33ms",
        ])
        try await aggregator.waitForOutput { $0.contains("\"msg\":\"aggregating\"") ? "" : nil }
        let source = EventSource(client)
        try source.trade("AAPL", price: 200, size: 1)
        try source.trade("GME", price: 20, size: 1)
        try source.trade("IBM", price: 181, size: 3)
        try await waitUntilBatched(source, in: ticks)
        let batches = try ticks.batches()
        #expect(batches.map(\.group) == ["dyn-01"], "only the owned dynamic group publishes: \(batches.map(\.group))")
        #expect(batches.first?.ticks.map(\.symbol) == ["IBM"] && batches.first?.seq == 1)
        await aggregator.terminate()
        await client.close()
        await server.stop()
    }

    @Test(arguments: [
        ("AGG_DYNAMIC_GROUPS", "0"),
        ("AGG_DYNAMIC_GROUPS", "many"),
        ("AGG_GROUPS", "dyn-00=AAPL"),
        ("AGG_OWN_GROUPS", "dyn-16"),
    ])
    func badDynamicConfigurationExitsTwoNamingTheVariable(variable: String, value: String) async throws {
        let process = try ManagedProcess("xy-aggregator", environment: ["NATS_URLS": "nats://127.0.0.1:1", variable: value])
        #expect(try await process.waitForExit() == 2)
        #expect(process.log.contains(variable), "output: \(process.log)")
    }

    @Test func twoAggregatorsOwnDisjointDynamicGroups() async throws {
        let server = try await NATSServer.start(.init(jetStream: true))
        let client = try await NATSClient.connect(url: server.url)
        let first = try Self.configuration(owning: "demo,dyn-00,dyn-01")
        let second = try Self.configuration(owning: "dyn-02,dyn-03")
        #expect(first.groups.map(\.name) == ["demo"] && first.dynamicGroups == ["dyn-00", "dyn-01"])
        #expect(second.groups.isEmpty && second.dynamicGroups == ["dyn-02", "dyn-03"])
        #expect(["GME", "IBM", "TSLA", "INTC"].map(first.symbolGroups.group(of:)) == ["dyn-00", "dyn-01", "dyn-03", "dyn-03"])
        let a = try await RunningAggregator.start(url: server.url, configuration: first)
        let b = try await RunningAggregator.start(url: server.url, configuration: second)
        let ticks = try Collector(client, subject: "xy.md.tick.>")
        try await client.flush()

        let source = EventSource(client)
        for (step, symbol) in ["GME", "IBM", "TSLA", "INTC", "AAPL"].enumerated() {
            try source.trade(symbol, price: 10 + Double(step), size: 1)
        }
        try source.trade("GME", price: 30, size: 1)
        try await client.flush()
        try await waitUntil("every symbol batched") {
            let batches = try ticks.batches()
            let symbols = Set(batches.flatMap { $0.ticks.map(\.symbol) })
            return symbols == ["GME", "IBM", "TSLA", "INTC", "AAPL"] && batches.contains { $0.ticks.contains { $0.symbol == "GME" && $0.last == 30 } }
        }
        var groupsOfSymbol: [String: Set<String>] = [:]
        for batch in try ticks.batches() {
            for tick in batch.ticks { groupsOfSymbol[tick.symbol, default: []].insert(batch.group) }
        }
        #expect(groupsOfSymbol == ["GME": ["dyn-00"], "IBM": ["dyn-01"], "TSLA": ["dyn-03"], "INTC": ["dyn-03"], "AAPL": ["demo"]])
        for group in ["dyn-00", "dyn-01", "dyn-03"] {
            let seqs = try ticks.batches().filter { $0.group == group }.map(\.seq)
            #expect(seqs == Array(1...UInt64(seqs.count)), "\(group): one producer, contiguous seqs \(seqs)")
        }
        let heldByA = try await a.engine.heldSymbols().get()
        let heldByB = try await b.engine.heldSymbols().get()
        #expect(heldByA == ["demo": ["AAPL", "MSFT"], "dyn-00": ["GME"], "dyn-01": ["IBM"]])
        #expect(heldByB == ["dyn-02": [], "dyn-03": ["TSLA", "INTC"]])
        try await a.stop()
        try await b.stop()
        await client.close()
        await server.stop()
    }

    @Test func aRestartRecoversADynamicGroup() async throws {
        let server = try await NATSServer.start(.init(jetStream: true))
        let client = try await NATSClient.connect(url: server.url)
        let source = EventSource(client)
        let ticks = try Collector(client, subject: "xy.md.tick.dyn-13")
        try await client.flush()

        let first = try await RunningAggregator.start(url: server.url, configuration: Self.configuration())
        try source.trade("IBM", price: 150, size: 5)
        try source.trade("SNAP", price: 9, size: 100)
        try await waitUntilBatched(source, in: ticks)
        let (beforeCrash, _) = try await requestSnapshot(client, group: "dyn-13")
        await first.crash()

        let second = try await RunningAggregator.start(url: server.url, configuration: Self.configuration())
        let recovered = try #require(second.recovered["dyn-13"])
        #expect(recovered.lastSeq == beforeCrash.seq && recovered.epoch == beforeCrash.epoch)
        #expect(Set(recovered.state.symbols.map(\.symbol)) == ["IBM", "SNAP"])
        let (rebuilt, _) = try await requestSnapshot(client, group: "dyn-13")
        #expect(rebuilt.ticksBySymbol == beforeCrash.ticksBySymbol, "the dynamic group's state survives a crash")

        // The recovered symbols route again: the next event continues the state and the seq.
        try source.trade("IBM", price: 151, size: 5)
        try await waitUntilBatched(source, in: ticks)
        let last = try #require(try ticks.batches().last)
        #expect(last.seq == beforeCrash.seq + 1 && last.epoch == beforeCrash.epoch)
        #expect(last.ticks.first { $0.symbol == "IBM" }?.volume == 10)
        try await second.stop()
        await client.close()
        await server.stop()
    }

    @Test func reclaimPublishesAFinalSnapshotThenDropsTheSymbolsState() async throws {
        let server = try await NATSServer.start(.init(jetStream: true))
        let client = try await NATSClient.connect(url: server.url)
        let source = EventSource(client)
        let ticks = try Collector(client, subject: "xy.md.tick.dyn-13")
        let snapshots = try Collector(client, subject: "xy.md.snapshot.dyn-13")
        try await client.flush()
        let aggregator = try await RunningAggregator.start(url: server.url, configuration: Self.configuration())

        // IBM first (index 0 of dyn-13), SNAP second: SNAP's index moves when IBM goes.
        try source.trade("IBM", price: 150, size: 5)
        try source.trade("SNAP", price: 9, size: 100)
        try source.trade("AAPL", price: 200, size: 1)
        try source.trade("IBM", price: 152, size: 5)
        try await waitUntilBatched(source, in: ticks)
        let seqBefore = try #require(try ticks.batches().last?.seq)
        let snapshotsBefore = snapshots.count

        let dropped = try await aggregator.engine.reclaim(symbols: ["IBM", "AAPL", "NOPE", "IBM"]).get()
        #expect(dropped == ["IBM"], "configured and unknown symbols stay; each symbol once")
        let held = try await aggregator.engine.heldSymbols().get()
        #expect(held["dyn-13"] == ["SNAP"] && held["demo"] == ["AAPL", "MSFT"])

        try await waitUntil("the final snapshot and the one after the drop") { snapshots.count >= snapshotsBefore + 2 }
        let published = Array(try snapshots.snapshots().dropFirst(snapshotsBefore))
        #expect(published[0].ticksBySymbol["IBM"]?.last == 152 && published[0].seq == seqBefore, "the final snapshot holds IBM's last state")
        #expect(published[1].ticksBySymbol["IBM"] == nil && published[1].ticksBySymbol["SNAP"]?.last == 9 && published[1].seq == seqBefore)
        let (answer, _) = try await requestSnapshot(client, group: "dyn-13")
        #expect(Set(answer.ticksBySymbol.keys) == ["SNAP"])

        // IBM's open bar was sealed and stored before its state went (by the reclaim, or by the
        // timer if its minute ended first).
        let jetStream = client.jetStream()
        try await waitUntil("IBM's last bar in XY_BARS") {
            guard let stored = try? await jetStream.getLastMessage(stream: "XY_BARS", subject: "xy.md.bar.IBM") else { return false }
            let bar = try Xy_Md_V1_Bar(serializedBytes: Array(stored.payload.readableBytesView))
            return bar.sealed && bar.close == 152
        }

        // SNAP's route follows its new index; IBM comes back, with a fresh state, at its next event.
        try source.trade("SNAP", price: 9.5, size: 50)
        try source.trade("IBM", price: 160, size: 1)
        try await waitUntilBatched(source, in: ticks)
        let after = try ticks.batches().filter { $0.seq > seqBefore }
        let snap = after.flatMap(\.ticks).last { $0.symbol == "SNAP" }
        let ibm = after.flatMap(\.ticks).last { $0.symbol == "IBM" }
        #expect(snap?.last == 9.5 && snap?.volume == 150)
        #expect(ibm?.last == 160 && ibm?.volume == 1, "a reclaimed symbol starts over")
        #expect(after.map(\.seq) == Array((seqBefore + 1)...(seqBefore + UInt64(after.count))))

        // A restart resumes from the live set, not from the final snapshot.
        _ = try await aggregator.engine.reclaim(symbols: ["IBM"]).get()
        try await waitUntil("XY_TICKS' newest dyn-13 snapshot without IBM") {
            let stored = try await jetStream.getLastMessage(stream: "XY_TICKS", subject: "xy.md.snapshot.dyn-13")
            return try Xy_Md_V1_Snapshot(serializedBytes: Array(stored.payload.readableBytesView)).ticksBySymbol.keys.sorted() == ["SNAP"]
        }
        await aggregator.crash()
        let restarted = try await RunningAggregator.start(url: server.url, configuration: Self.configuration())
        #expect(try #require(restarted.recovered["dyn-13"]).state.symbols.map(\.symbol) == ["SNAP"])
        try await restarted.stop()
        await client.close()
        await server.stop()
    }

    /// The path issue 18's leases take: xy-realtime's `UpstreamChange` on `xy.ctl.upstream.changed`
    /// reclaims its `removed` symbols in the running service; a message that is no `UpstreamChange`
    /// changes nothing.
    @Test func anUpstreamChangeOnNATSReclaimsItsRemovedSymbols() async throws {
        let server = try await NATSServer.start(.init(jetStream: true))
        let client = try await NATSClient.connect(url: server.url)
        let source = EventSource(client)
        let ticks = try Collector(client, subject: "xy.md.tick.dyn-13")
        try await client.flush()
        let aggregator = try await RunningAggregator.start(url: server.url, configuration: Self.configuration())

        try source.trade("IBM", price: 150, size: 5)
        try source.trade("SNAP", price: 9, size: 100)
        try await waitUntilBatched(source, in: ticks)
        #expect(try await aggregator.engine.heldSymbols().get()["dyn-13"]?.sorted() == ["IBM", "SNAP"])

        try client.publish(Subjects.upstreamChanged, payload: ByteBuffer(string: "not protobuf \u{1}\u{2}"))
        var change = Xy_Ctl_V1_UpstreamChange()
        change.removed = ["IBM", "AAPL"]
        change.instance = "realtime"
        try client.publish(Subjects.upstreamChanged, payload: ByteBuffer(bytes: try change.serializedBytes() as [UInt8]))
        try await waitUntil("IBM reclaimed, SNAP and the configured AAPL kept") {
            let held = try await aggregator.engine.heldSymbols().get()
            return held["dyn-13"] == ["SNAP"]
        }
        #expect(try await aggregator.engine.heldSymbols().get()["demo"]?.contains("IBM") != true)
        try await aggregator.stop()
        await client.close()
        await server.stop()
    }
}

import Aggregator
import Foundation
import MarketData
import NATS
import NATSTestSupport
import NIOCore
import Testing
import XYContracts
import XYCore

/// xy-aggregator against the real `nats-server -js` with events no vendor should send: they are
/// counted by reason and never reach `xy.md.tick.*`, and the good events after them go through.
@Suite(.serialized) struct AggregatorValidationTests {
    static let configuration = AggregatorConfiguration(
        groups: [.init(name: "demo", symbols: ["AAPL", "MSFT"])], tickInterval: .milliseconds(33), snapshotInterval: .seconds(2))
    static let day: Int64 = 86_400_000_000_000

    /// The batch ticks of `symbol` received so far.
    static func ticks(_ collector: Collector, _ symbol: String) throws -> [Xy_Md_V1_SymbolTick] {
        try collector.batches().flatMap { $0.ticks.filter { $0.symbol == symbol } }
    }

    @Test func badEventsAreCountedAndNeverReachTheTicksWhileGoodOnesGoThrough() async throws {
        let server = try await NATSServer.start(.init(jetStream: true))
        let client = try await NATSClient.connect(url: server.url)
        let aggregator = try await RunningAggregator.start(url: server.url, configuration: Self.configuration)
        let ticks = try Collector(client, subject: "xy.md.tick.>")
        try await client.flush()
        try await aggregator.client.flush()  // its subscriptions are in place at the server
        let source = EventSource(client)

        let now = wallClockNanoseconds()
        try source.trade("AAPL", price: 100, size: 1e308)                          // size
        try source.trade("AAPL", price: .nan, size: 1)                             // price
        try source.trade("AAPL", price: 1, size: 1, timeNs: now + Self.day)        // future_time
        try source.quote("AAPL", bid: -5, ask: 101)                                // price
        try source.quote("AAPL", bid: 102, ask: 101)                               // crossed_quote
        try source.aggregate("AAPL", low: 90, high: 110, dayVolume: .infinity)     // volume
        try source.trade("AAPL", price: 123.25, size: 7)                           // good: after all of them
        try await client.flush()

        try await waitUntil("the good trade in a batch") { try Self.ticks(ticks, "AAPL").contains { $0.last == 123.25 } }
        let expected: [EventRefusal: Int64] = [.size: 1, .price: 2, .futureTime: 1, .crossedQuote: 1, .volume: 1]
        #expect(try await aggregator.engine.refusedEvents().get() == expected)

        let aapl = try Self.ticks(ticks, "AAPL")
        #expect(aapl.allSatisfy { $0.volume == 7 && $0.lastSize == 7 && $0.bid == 0 && $0.ask == 0 }, "\(aapl)")
        #expect(aapl.allSatisfy { $0.eventTimeNs <= now + 5_000_000_000 && $0.tradeTimeNs <= now + 5_000_000_000 })

        // The future-stamped trade froze nothing: a later good event applies at once.
        try source.quote("AAPL", bid: 123, ask: 123.5)
        try await client.flush()
        try await waitUntil("the good quote in a batch") { try Self.ticks(ticks, "AAPL").contains { $0.bid == 123 && $0.ask == 123.5 } }
        ticks.stop()
        try await aggregator.stop()
        await client.close()
        await server.stop()
    }

    @Test func aRestoredSnapshotStampedInTheFutureDoesNotFreezeASymbol() async throws {
        let server = try await NATSServer.start(.init(jetStream: true))
        let client = try await NATSClient.connect(url: server.url)
        // A first run creates XY_TICKS; then a snapshot as a faulty earlier version would have
        // stored it: AAPL's last trade a day ahead, a volume that is not a number.
        try await RunningAggregator.start(url: server.url, configuration: Self.configuration).stop()
        var poisoned = Xy_Md_V1_SymbolTick()
        poisoned.symbol = "AAPL"
        poisoned.last = 50
        poisoned.volume = .infinity
        poisoned.tradeTimeNs = wallClockNanoseconds() + Self.day
        poisoned.eventTimeNs = poisoned.tradeTimeNs
        var snapshot = Xy_Md_V1_Snapshot()
        snapshot.group = "demo"
        snapshot.seq = 0
        snapshot.timeNs = wallClockNanoseconds()
        snapshot.ticks = [poisoned]
        _ = try await client.jetStream().publish(
            "xy.md.snapshot.demo", payload: ByteBuffer(bytes: try snapshot.serializedBytes() as [UInt8]),
            headers: [Subjects.schemaHeader: "xy.md.v1.Snapshot"])

        let aggregator = try await RunningAggregator.start(url: server.url, configuration: Self.configuration)
        #expect(aggregator.recovered["demo"]?.state["AAPL"]?.lastTrade.timeNs == poisoned.tradeTimeNs, "the poisoned snapshot was the base")
        let ticks = try Collector(client, subject: "xy.md.tick.demo")
        try await client.flush()
        try await aggregator.client.flush()
        try EventSource(client).trade("AAPL", price: 77.5, size: 3)
        try await client.flush()
        try await waitUntil("the trade after the restore in a batch") { try Self.ticks(ticks, "AAPL").contains { $0.last == 77.5 } }
        let after = try #require(Self.ticks(ticks, "AAPL").last)
        #expect(after.volume == 3 && after.tradeTimeNs < poisoned.tradeTimeNs)
        let (current, _) = try await requestSnapshot(client, group: "demo")
        #expect(current.ticksBySymbol["AAPL"]?.volume == 3)
        ticks.stop()
        try await aggregator.stop()
        await client.close()
        await server.stop()
    }
}

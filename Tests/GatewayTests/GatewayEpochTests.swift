import Foundation
import GatewayClient
import NATS
import NATSTestSupport
import NIOConcurrencyHelpers
import NIOCore
import SwiftProtobuf
import Testing
import XYContracts

/// The real xy-aggregator behind the real xy-gateway on a real nats-server with JetStream, and a
/// WebSocket client that stays connected while the aggregator starts over on an empty `XY_TICKS`.
@Suite("xy-gateway with xy-aggregator: sequence epochs", .serialized)
struct GatewayEpochTests {
    static let symbols = ["AAA", "BBB", "CCC"]

    /// Trades as xy-realtime would publish them, one round (a trade per symbol) for each batch the
    /// aggregator publishes: the feed keeps pace with the aggregator instead of a timer. A freshly
    /// started aggregator gets its first round from ``publishRound()``.
    final class EventFeed: @unchecked Sendable {
        private let client: NATSClient
        private let price = NIOLockedValueBox(100.0)
        private var subscription: NATSSubscription?

        init(_ client: NATSClient) throws {
            self.client = client
            subscription = try client.subscribe("xy.md.tick.demo") { [weak self] _ in self?.publishRound() }
        }

        func publishRound() {
            for symbol in GatewayEpochTests.symbols {
                var event = Xy_Md_V1_MarketEvent()
                event.symbol = symbol
                let now = Int64(Date().timeIntervalSince1970 * 1e9)
                event.eventTimeNs = now
                event.receiveTimeNs = now
                event.source = "sim"
                var trade = Xy_Md_V1_Trade()
                trade.price = price.withLockedValue { price in
                    price += 0.01
                    return price
                }
                trade.size = 100
                event.trade = trade
                guard let bytes: [UInt8] = try? event.serializedBytes() else { continue }
                try? client.publish("xy.md.event." + symbol, payload: ByteBuffer(bytes: bytes))
            }
        }

        func stop() {
            try? subscription?.unsubscribe()
        }
    }

    static func startAggregator(_ harness: GatewayHarness) async throws -> ManagedProcess {
        let aggregator = try ManagedProcess("xy-aggregator", environment: [
            "NATS_URLS": harness.nats.url,
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": "0",
            "AGG_GROUPS": "demo=" + symbols.joined(separator: ","),
            "TICK_INTERVAL": "33ms",
            "SNAPSHOT_INTERVAL": "3s",
            "LOG_LEVEL": "info",
        ])
        try await aggregator.waitForOutput { $0.contains("\"msg\":\"aggregating\"") ? "" : nil }
        return aggregator
    }

    @Test("the aggregator restarts on a deleted XY_TICKS: the connected client gets the new epoch's snapshot, then fresh ticks")
    func restartOnEmptyStream() async throws {
        let harness = try await GatewayHarness.start(jetStream: true)
        let events = try EventFeed(harness.client)
        try await harness.client.flush()
        var aggregator = try await Self.startAggregator(harness)
        events.publishRound()
        do {
            let client = try await harness.connectedClient()
            try await client.send(text: #"{"op":"subscribe","subject":"xy.md.tick.demo"}"#)
            let first = try await client.envelope(ofType: "snapshot")
            let oldEpoch = try #require(first.epoch)
            #expect(oldEpoch > 0)
            // Far enough that the new run's seqs would all be "duplicates" by the old rule.
            var last = first.seq
            while last < 40 {
                let tick = try await client.envelope(ofType: "tick")
                #expect(tick.epoch == oldEpoch)
                last = tick.seq
            }

            await aggregator.terminate()
            try await harness.client.jetStream().deleteStream("XY_TICKS")
            aggregator = try await Self.startAggregator(harness)
            events.publishRound()

            // Ticks of the old run may still be in flight; then the new base, within seconds.
            let deadline = ContinuousClock.now + .seconds(10)
            var base: Envelope?
            while base == nil, ContinuousClock.now < deadline {
                let next = try await client.envelope(timeout: .seconds(10))
                if next.type == "snapshot", next.epoch != oldEpoch { base = next }
                if next.type == "tick" { #expect(next.epoch == oldEpoch, "no tick of the new run before its snapshot") }
            }
            let snapshot = try #require(base, "a snapshot of the new epoch within 10 s")
            let newEpoch = try #require(snapshot.epoch)
            #expect(snapshot.seq < 40, "the new run counts from 1 again")
            #expect(snapshot.ticks.count == Self.symbols.count)
            // Fresh ticks of the new epoch, contiguous after the snapshot.
            var seq = snapshot.seq
            for _ in 0..<10 {
                let tick = try await client.envelope(ofType: "tick", timeout: .seconds(5))
                #expect(tick.epoch == newEpoch)
                #expect(tick.firstSeq <= seq + 1 && tick.seq > seq, "contiguous after the new base")
                seq = tick.seq
            }
            #expect(try harness.metric("xy_ws_epoch_changes_total") == 1)
            await client.close()
        } catch {
            events.stop()
            await aggregator.terminate()
            await harness.stop()
            throw error
        }
        events.stop()
        await aggregator.terminate()
        await harness.stop()
    }
}

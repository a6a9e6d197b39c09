import Aggregator
import Foundation
import Logging
import NATS
import NATSTestSupport
import NIOCore
import ServiceLifecycle
import SwiftProtobuf
import Testing
import XYContracts
import XYCore
import XYService

struct AggregatorTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// An in-process xy-aggregator on its own NATS connection, run by a `ServiceGroup` as `main` does.
final class RunningAggregator: @unchecked Sendable {
    let client: NATSClient
    let readiness: ReadinessState
    /// What each group was rebuilt from at start.
    let recovered: [String: RecoveredGroup]
    /// The running engine (its refusal counts).
    let engine: AggregatorEngine
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    static func start(url: String, configuration: AggregatorConfiguration) async throws -> RunningAggregator {
        let client = try await NATSClient.connect(url: url)
        var logger = Logger(label: "xy-aggregator-test")
        logger.logLevel = .notice
        let readiness = ReadinessState()
        let started = LockedValue<(AggregatorEngine, [String: RecoveredGroup])?>(nil)
        let service = AggregatorService(
            configuration: configuration, nats: client, readiness: readiness, logger: logger,
            retryDelay: .milliseconds(200), onStart: { engine, recovered in started.withLock { $0 = (engine, recovered) } }
        )
        let group = ServiceGroup(services: [service], logger: logger)
        let task = Task { try await group.run() }
        try await waitUntil("the aggregator to start") { started.current != nil }
        guard let (engine, recovered) = started.current else { throw AggregatorTestError("the aggregator did not start") }
        return RunningAggregator(client: client, readiness: readiness, recovered: recovered, engine: engine, group: group, task: task)
    }

    private init(
        client: NATSClient, readiness: ReadinessState, recovered: [String: RecoveredGroup], engine: AggregatorEngine, group: ServiceGroup,
        task: Task<Void, any Error>
    ) {
        self.client = client
        self.readiness = readiness
        self.recovered = recovered
        self.engine = engine
        self.group = group
        self.task = task
    }

    /// Graceful stop: the last batch and a final snapshot are published and stored.
    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
        await client.close()
    }

    /// A crash as far as NATS can tell: the connection goes first, so nothing more is published.
    func crash() async {
        await client.close()
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}

/// Every message on `subject`, with the monotonic time it arrived.
final class Collector: @unchecked Sendable {
    struct Received {
        var at: ContinuousClock.Instant
        var message: NATSMessage
    }

    private let received = LockedValue<[Received]>([])
    private var subscription: NATSSubscription?

    init(_ client: NATSClient, subject: String) throws {
        subscription = try client.subscribe(subject) { [received] message in
            let now = ContinuousClock.now
            received.withLock { $0.append(Received(at: now, message: message)) }
        }
    }

    var all: [Received] { received.current }
    var count: Int { received.withLock { $0.count } }

    func batches() throws -> [Xy_Md_V1_TickBatch] {
        try all.map { try Xy_Md_V1_TickBatch(serializedBytes: Array($0.message.payload.readableBytesView)) }
    }

    func snapshots() throws -> [Xy_Md_V1_Snapshot] {
        try all.map { try Xy_Md_V1_Snapshot(serializedBytes: Array($0.message.payload.readableBytesView)) }
    }

    /// Whether a batch received carries `event` as its symbol's newest trade, quote or aggregate.
    func hasBatched(_ event: EventSource.Published) throws -> Bool {
        try batches().reversed().contains { batch in
            batch.ticks.contains { tick in
                tick.symbol == event.symbol
                    && [tick.tradeSequence, tick.quoteSequence, tick.aggregateSequence].contains(event.sequence)
            }
        }
    }

    func stop() {
        try? subscription?.unsubscribe()
    }
}

/// Publishes MarketEvents as xy-realtime would: one `xy.md.event.<SYMBOL>` message each.
final class EventSource: @unchecked Sendable {
    /// One event as published: its symbol and vendor sequence.
    struct Published {
        var symbol: String
        var sequence: UInt64
    }

    let client: NATSClient
    private var sequence: UInt64 = 0
    /// The newest event published, which a test waits for downstream.
    private(set) var newest: Published?
    private var prices: [String: Double] = [:]

    init(_ client: NATSClient) {
        self.client = client
    }

    func trade(_ symbol: String, price: Double, size: Double, timeNs: Int64 = wallClockNanoseconds()) throws {
        var trade = Xy_Md_V1_Trade()
        trade.price = price
        trade.size = size
        try publish(symbol, timeNs: timeNs) { $0.trade = trade }
    }

    func quote(_ symbol: String, bid: Double, ask: Double, timeNs: Int64 = wallClockNanoseconds()) throws {
        var quote = Xy_Md_V1_Quote()
        quote.bidPrice = bid
        quote.bidSize = 100
        quote.askPrice = ask
        quote.askSize = 200
        try publish(symbol, timeNs: timeNs) { $0.quote = quote }
    }

    func aggregate(_ symbol: String, low: Double, high: Double, dayVolume: Double, timeNs: Int64 = wallClockNanoseconds()) throws {
        var aggregate = Xy_Md_V1_Aggregate()
        aggregate.open = low
        aggregate.high = high
        aggregate.low = low
        aggregate.close = high
        aggregate.dayVolume = dayVolume
        try publish(symbol, timeNs: timeNs) { $0.aggregate = aggregate }
    }

    /// A random walk: one trade or quote for a symbol picked in turn.
    func randomEvent(symbols: [String], step: Int) throws {
        let symbol = symbols[step % symbols.count]
        let price = (prices[symbol] ?? 100) * (1 + Double.random(in: -0.001...0.001))
        prices[symbol] = price
        if step % 3 == 0 {
            try quote(symbol, bid: price - 0.01, ask: price + 0.01)
        } else {
            try trade(symbol, price: price, size: Double(Int.random(in: 1...500)))
        }
    }

    /// One event with the next vendor sequence, as `xy.md.event.<SYMBOL>`.
    private func publish(_ symbol: String, timeNs: Int64, _ fill: (inout Xy_Md_V1_MarketEvent) -> Void) throws {
        sequence += 1
        var event = Xy_Md_V1_MarketEvent()
        event.symbol = symbol
        event.vendorSequence = sequence
        event.eventTimeNs = timeNs
        event.receiveTimeNs = wallClockNanoseconds()
        event.source = "test"
        fill(&event)
        try client.publish(try Subjects.event(symbol: symbol), bytes: try event.serializedBytes())
        newest = Published(symbol: symbol, sequence: sequence)
    }
}

/// Waits until `ticks` has the batch that carries the newest event of `source`. Events from one
/// connection are folded in order, so every event before it is folded too and in a batch, and no
/// further batch comes until more events are published.
func waitUntilBatched(_ source: EventSource, in ticks: Collector) async throws {
    let newest = try #require(source.newest, "no event published yet")
    try await source.client.flush()
    try await waitUntil("the batch with \(newest.symbol) event \(newest.sequence)") { try ticks.hasBatched(newest) }
}

extension Xy_Md_V1_Snapshot {
    /// Ticks by symbol, for comparisons that do not depend on order.
    var ticksBySymbol: [String: Xy_Md_V1_SymbolTick] {
        Dictionary(ticks.map { ($0.symbol, $0) }, uniquingKeysWith: { _, last in last })
    }
}

/// `xy.md.snapshot.get.<group>`, optionally for some symbols.
func requestSnapshot(_ client: NATSClient, group: String, symbols: [String] = []) async throws -> (Xy_Md_V1_Snapshot, NATSMessage) {
    var payload: [UInt8] = []
    if !symbols.isEmpty {
        var request = Xy_Md_V1_SnapshotRequest()
        request.group = group
        request.symbols = symbols
        payload = try request.serializedBytes()
    }
    let reply = try await client.request(try Subjects.snapshotRequest(group: group), payload: ByteBuffer(bytes: payload), timeout: .seconds(5))
    return (try Xy_Md_V1_Snapshot(serializedBytes: Array(reply.payload.readableBytesView)), reply)
}

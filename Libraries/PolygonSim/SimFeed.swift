import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import XYCore


/// The simulator's market clock: advances the ``SimMarket`` at the configured rate, encodes each
/// event once, and hands every connected client the same batch (each client picks what it
/// subscribed to). A `Service`, so it runs and stops with the server.
public final class SimFeed: Service, Sendable {
    /// Events of one tick, encoded once: `bytes` holds the objects back to back.
    public struct Batch: Sendable {
        public struct Entry: Sendable {
            public var start: Int
            public var end: Int
            /// A ``SimChannel`` raw value, or ``SimFeed/injected`` for a deliberately malformed event.
            public var channel: UInt8
            public var symbolIndex: Int
        }

        public var bytes: [UInt8]
        public var entries: [Entry]
    }

    /// Channel marker of an injected malformed event: sent to every client with any subscription.
    public static let injected: UInt8 = 255

    private struct State {
        var market: SimMarket
        var clients: [Int: AsyncStream<Batch>.Continuation] = [:]
        var nextClientID = 0
        var droppedBatches = 0
        var generated: UInt64 = 0
    }

    private let state: NIOLockedValueBox<State>
    private let configuration: PolygonSimConfiguration
    private let logger: Logger

    public init(configuration: PolygonSimConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.state = NIOLockedValueBox(State(market: SimMarket(symbols: configuration.symbols, seed: configuration.seed)))
    }

    public var symbolIndex: [String: Int] { state.withLockedValue { $0.market.symbolIndex } }

    /// Batches a slow client could not take (it sees gaps in `q`).
    public var droppedBatches: Int { state.withLockedValue { $0.droppedBatches } }

    /// Events generated since start.
    public var generatedEvents: UInt64 { state.withLockedValue { $0.generated } }

    /// The market's current per-symbol state, for the REST snapshot.
    public func symbolStates() -> [SimMarket.SymbolState] {
        state.withLockedValue { $0.market.states }
    }

    /// A new client's stream of batches; call ``unregister(_:)`` when it goes.
    public func register() -> (id: Int, batches: AsyncStream<Batch>) {
        let (stream, continuation) = AsyncStream<Batch>.makeStream(bufferingPolicy: .bufferingOldest(configuration.clientQueueLimit))
        let id = state.withLockedValue { state in
            state.nextClientID += 1
            state.clients[state.nextClientID] = continuation
            return state.nextClientID
        }
        return (id, stream)
    }

    public func unregister(_ id: Int) {
        let continuation = state.withLockedValue { $0.clients.removeValue(forKey: id) }
        continuation?.finish()
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await self.tickLoop()
        }
        let clients = state.withLockedValue { state in
            defer { state.clients.removeAll() }
            return Array(state.clients.values)
        }
        for client in clients { client.finish() }
    }

    private func tickLoop() async {
        let clock = ContinuousClock()
        var start = clock.now
        var emitted: Double = 0
        let rate = max(configuration.rate, 0)
        // Never catch up more than a quarter second of backlog at once: after a pause the market
        // simply ran slower than asked.
        let maximumBurst = max(1, rate / 4)
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: configuration.tickInterval)
            } catch {
                return
            }
            let hasClients = state.withLockedValue { !$0.clients.isEmpty }
            guard hasClients, rate > 0 else {
                start = clock.now
                emitted = 0
                continue
            }
            let elapsed = clock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            var due = (seconds * rate).rounded(.down) - emitted
            if due > maximumBurst {
                emitted += due - maximumBurst
                due = maximumBurst
            }
            guard due >= 1 else { continue }
            emitted += due
            publish(count: Int(due))
        }
    }

    /// Generates `count` events now and hands the batch to every client.
    func publish(count: Int) {
        let now = wallClockNanoseconds() / 1_000_000
        let malformedEvery = configuration.malformedEvery
        state.withLockedValue { state in
            var bytes: [UInt8] = []
            bytes.reserveCapacity(count * 140)
            var entries: [Batch.Entry] = []
            entries.reserveCapacity(count + 4)
            for _ in 0..<count {
                let event = state.market.next(timeMilliseconds: now)
                state.generated += 1
                let start = bytes.count
                SimEventEncoder.append(event, to: &bytes)
                entries.append(.init(start: start, end: bytes.count, channel: event.channel.rawValue, symbolIndex: event.symbolIndex))
                if let malformedEvery, malformedEvery > 0, state.generated % UInt64(malformedEvery) == 0 {
                    let injectedStart = bytes.count
                    bytes.append(contentsOf: Self.malformedSample(state.generated / UInt64(malformedEvery), symbol: event.symbol).utf8)
                    entries.append(.init(start: injectedStart, end: bytes.count, channel: Self.injected, symbolIndex: event.symbolIndex))
                }
            }
            let batch = Batch(bytes: bytes, entries: entries)
            for continuation in state.clients.values {
                if case .dropped = continuation.yield(batch) {
                    state.droppedBatches += 1
                }
            }
        }
    }

    /// Three kinds in turn: a wrong field type, an unknown `ev`, and broken JSON syntax.
    static func malformedSample(_ counter: UInt64, symbol: String) -> String {
        switch counter % 3 {
        case 0: "{\"ev\":\"T\",\"sym\":\"\(symbol)\",\"p\":\"not-a-price\",\"s\":1,\"t\":1,\"q\":1}"
        case 1: "{\"ev\":\"ZZ\",\"sym\":\"\(symbol)\",\"t\":1}"
        default: "{\"ev\":\"T\",\"sym\":\"\(symbol)\",\"p\":1..5,,}"
        }
    }
}

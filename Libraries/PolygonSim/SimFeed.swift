import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import XYCore


/// The simulator's market clock: trades what the connected clients subscribe to (the `--symbols`
/// list for a `*` wildcard, any tradable ticker named), each symbol at `--rate` × its activity over
/// the list's total activity, encodes each event once, and hands every connected client the same
/// batch (each client picks what it subscribed to). A `Service`, so it runs and stops with the server.
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
        var interests: [Int: SimSubscriptions] = [:]
        var nextClientID = 0
        var droppedBatches = 0
        var generated: UInt64 = 0
    }

    private let state: NIOLockedValueBox<State>
    private let configuration: PolygonSimConfiguration
    private let logger: Logger
    private let listed: [String]
    private let listedSet: Set<String>
    /// Events per second per unit of activity: `--rate` spread over the listed symbols.
    private let ratePerActivity: Double

    public init(configuration: PolygonSimConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.listed = configuration.symbols
        self.listedSet = Set(configuration.symbols)
        let listedActivity = configuration.symbols.reduce(0) { $0 + SimUniverse.instrument(for: $1).activity }
        self.ratePerActivity = max(configuration.rate, 0) / Double(max(1, listedActivity))
        self.state = NIOLockedValueBox(State(market: SimMarket(symbols: [], seed: configuration.seed)))
    }

    /// Whether the market trades `symbol` when asked: listed, in the universe, or shaped like a
    /// US ticker (``SimUniverse/isWellFormed(_:)``).
    public func isTradable(_ symbol: String) -> Bool {
        listedSet.contains(symbol) || SimUniverse.contains(symbol) || SimUniverse.isWellFormed(symbol)
    }

    /// The symbols trading now (what some connection subscribed to).
    public var activeSymbols: Set<String> { state.withLockedValue { $0.market.activeSymbols } }

    /// Events per second the market generates now, over every trading symbol.
    public var currentRate: Double { state.withLockedValue { ratePerActivity * Double($0.market.activeActivity) } }

    /// Events per second `symbol` gets while it trades: `--rate` × its activity / the listed total.
    public func rate(of symbol: String) -> Double {
        ratePerActivity * Double(SimUniverse.instrument(for: symbol).activity)
    }

    /// Batches a slow client could not take (it sees gaps in `q`).
    public var droppedBatches: Int { state.withLockedValue { $0.droppedBatches } }

    /// Events generated since start.
    public var generatedEvents: UInt64 { state.withLockedValue { $0.generated } }

    /// What the REST snapshot shows: for `tickers` (in the order asked, duplicates and untradable
    /// names left out) each one's live state, or the state it would start from if it never
    /// traded; without tickers, the listed symbols and every other that has traded.
    public func snapshotStates(tickers: [String]?) -> [SimMarket.SymbolState] {
        state.withLockedValue { state in
            var seen = Set<String>()
            let names = tickers ?? (listed + state.market.symbols)
            return names.compactMap { symbol in
                guard seen.insert(symbol).inserted, isTradable(symbol) else { return nil }
                return state.market.state(of: symbol)
            }
        }
    }

    /// Records what connection `id` subscribes to now and starts or stops symbols to match the
    /// union over all connections; returns the connection's subscriptions by symbol number, also
    /// handed to `install` before any batch holding a newly started symbol can exist, so a session
    /// that filters with it never misses a symbol's first events.
    @discardableResult
    public func setInterest(
        _ id: Int, _ subscriptions: SimSubscriptions, install: (SimSubscriptions.Matcher) -> Void = { _ in }
    ) -> SimSubscriptions.Matcher {
        state.withLockedValue { state in
            state.interests[id] = subscriptions.isEmpty ? nil : subscriptions
            reconcile(&state)
            // Only a tradable symbol gets a number (and a state): junk names cost nothing.
            let matcher = subscriptions.matcher { isTradable($0) ? state.market.index(of: $0) : nil }
            install(matcher)
            return matcher
        }
    }

    /// The market trades exactly the union of the connections' interests: the listed symbols when
    /// any holds a wildcard, plus every tradable symbol named.
    private func reconcile(_ state: inout State) {
        var wanted: [String] = []
        if state.interests.values.contains(where: { $0.wildcard != 0 }) { wanted = listed }
        let named = Set(state.interests.values.flatMap(\.symbols.keys)).filter(isTradable)
        wanted += named.subtracting(wanted).sorted()
        let wantedSet = Set(wanted)
        for symbol in state.market.activeSymbols.subtracting(wantedSet).sorted() {
            state.market.deactivate(symbol)
        }
        for symbol in wanted {
            state.market.activate(symbol)
        }
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

    /// The connection went: its batches end and what only it subscribed to stops trading.
    public func unregister(_ id: Int) {
        let continuation = state.withLockedValue { state in
            if state.interests.removeValue(forKey: id) != nil { reconcile(&state) }
            return state.clients.removeValue(forKey: id)
        }
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
        var last = clock.now
        var credit: Double = 0
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: configuration.tickInterval)
            } catch {
                return
            }
            let now = clock.now
            let elapsed = now - last
            last = now
            // The rate follows what trades now; nothing subscribed, nothing generated.
            let rate = currentRate
            guard rate > 0 else {
                credit = 0
                continue
            }
            credit += (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18) * rate
            // Never catch up more than a quarter second of backlog at once: after a pause the
            // market simply ran slower than asked.
            credit = min(credit, max(1, rate / 4))
            guard credit >= 1 else { continue }
            let due = credit.rounded(.down)
            credit -= due
            publish(count: Int(due))
        }
    }

    /// Generates `count` events now and hands the batch to every client.
    func publish(count: Int) {
        let now = wallClockNanoseconds() / 1_000_000
        let malformedEvery = configuration.malformedEvery
        state.withLockedValue { state in
            guard state.market.activeActivity > 0 else { return }
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

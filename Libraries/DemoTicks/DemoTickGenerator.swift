import PolygonSim
import XYContracts

/// Well-formed `TickBatch`es from a random walk, for trying consumers without the rest of the
/// stack (`xy demo ticks`): each batch moves some symbols, keeps bid < last < ask, accumulates
/// volume, and carries the next `seq` of the group.
public struct DemoTickGenerator: Sendable {
    /// The group the batches are for (validated as a subject token).
    public let group: String
    /// The `seq` the next batch will carry.
    public private(set) var nextSequence: UInt64

    private var states: [SymbolState]
    private var random: SimRandom

    /// What the walk remembers per symbol.
    private struct SymbolState: Sendable {
        let symbol: String
        let previousClose: Double
        var last: Double
        var volume: Double
    }

    /// Starts every symbol at a price drawn from `seed`; the same seed gives the same batches.
    public init(group: String, symbols: [String], seed: UInt64, firstSequence: UInt64 = 1) throws(SubjectTokenError) {
        _ = try SubjectToken.group(group)
        guard !symbols.isEmpty else { throw SubjectTokenError(.invalidSymbol, "no symbols to tick") }
        var random = SimRandom(seed: seed)
        var states: [SymbolState] = []
        for symbol in symbols {
            _ = try SubjectToken.symbol(symbol)
            let price = Self.cents(20 + random.nextUnit() * 480)
            states.append(SymbolState(symbol: symbol, previousClose: price, last: price, volume: 0))
        }
        self.group = group
        self.states = states
        self.random = random
        self.nextSequence = firstSequence
    }

    /// The next batch, stamped `nowNanoseconds` (Unix epoch): at least one symbol moves, each
    /// other one with even odds.
    public mutating func next(nowNanoseconds: Int64) -> Xy_Md_V1_TickBatch {
        let forced = Int(random.next() % UInt64(states.count))
        var batch = Xy_Md_V1_TickBatch()
        batch.group = group
        batch.seq = nextSequence
        batch.publishTimeNs = nowNanoseconds
        for index in states.indices where index == forced || random.next() & 1 == 1 {
            batch.ticks.append(step(index, now: nowNanoseconds))
        }
        nextSequence += 1
        return batch
    }

    /// One random-walk step of one symbol (±0.1 % at most, whole cents, never below a cent).
    private mutating func step(_ index: Int, now: Int64) -> Xy_Md_V1_SymbolTick {
        var state = states[index]
        let move = (random.nextUnit() * 2 - 1) * 0.001
        state.last = max(0.01, Self.cents(state.last * (1 + move)))
        let size = Double(1 + random.next() % 10) * 100
        state.volume += size
        states[index] = state

        let halfSpread = max(0.01, Self.cents(state.last * 0.0002))
        var tick = Xy_Md_V1_SymbolTick()
        tick.symbol = state.symbol
        tick.last = state.last
        tick.lastSize = size
        tick.bid = Self.cents(state.last - halfSpread)
        tick.ask = Self.cents(state.last + halfSpread)
        tick.bidSize = Double(1 + random.next() % 20) * 100
        tick.askSize = Double(1 + random.next() % 20) * 100
        tick.change = Self.cents(state.last - state.previousClose)
        tick.changePercent = (state.last - state.previousClose) / state.previousClose * 100
        tick.volume = state.volume
        tick.eventTimeNs = now
        return tick
    }

    private static func cents(_ price: Double) -> Double {
        (price * 100).rounded() / 100
    }
}

extension SimRandom {
    /// A uniform value in [0, 1): the top 53 bits of the next output as a fraction.
    fileprivate mutating func nextUnit() -> Double {
        Double(next() >> 11) / Double(1 << 53)
    }
}

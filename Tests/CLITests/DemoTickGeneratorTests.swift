import DemoTicks
import Testing
import XYContracts

@Suite("Demo tick batches")
struct DemoTickGeneratorTests {
    private let symbols = ["AAPL", "MSFT", "BRK.B", "SPY"]

    @Test("seq rises by one from the first, every batch moves at least one known symbol")
    func sequence() throws {
        var generator = try DemoTickGenerator(group: "demo", symbols: symbols, seed: 7, firstSequence: 41)
        var now: Int64 = 1_700_000_000_000_000_000
        for expected in UInt64(41)..<141 {
            let batch = generator.next(nowNanoseconds: now)
            #expect(batch.group == "demo")
            #expect(batch.seq == expected)
            #expect(batch.firstSeq == 0)
            #expect(batch.publishTimeNs == now)
            #expect(!batch.ticks.isEmpty)
            #expect(Set(batch.ticks.map(\.symbol)).isSubset(of: symbols))
            #expect(Set(batch.ticks.map(\.symbol)).count == batch.ticks.count, "a symbol twice in one batch")
            now += 33_000_000
        }
        #expect(generator.nextSequence == 141)
    }

    @Test("prices walk in whole cents, bid < last < ask, volume only grows, change is against the first price")
    func wellFormed() throws {
        var generator = try DemoTickGenerator(group: "demo", symbols: symbols, seed: 99)
        var first: [String: Double] = [:]
        var lastVolume: [String: Double] = [:]
        var lastPrice: [String: Double] = [:]
        for step in 0..<500 {
            for tick in generator.next(nowNanoseconds: Int64(step)).ticks {
                #expect(tick.bid < tick.last && tick.last < tick.ask)
                #expect(abs((tick.last * 100).rounded() - tick.last * 100) < 1e-6, "\(tick.last) is not whole cents")
                #expect(tick.volume > lastVolume[tick.symbol, default: 0])
                #expect(tick.eventTimeNs == Int64(step))
                if let previous = lastPrice[tick.symbol] {
                    #expect(abs(tick.last - previous) <= previous * 0.001 + 0.011, "more than 0.1 % in one step")
                }
                let open = first[tick.symbol] ?? (tick.last - tick.change)
                first[tick.symbol] = open
                #expect(abs(tick.change - (tick.last - open)) < 0.0051)
                lastVolume[tick.symbol] = tick.volume
                lastPrice[tick.symbol] = tick.last
            }
        }
        #expect(Set(first.keys) == Set(symbols), "some symbol never ticked in 500 batches")
    }

    @Test("the same seed gives the same batches")
    func reproducible() throws {
        var a = try DemoTickGenerator(group: "demo", symbols: symbols, seed: 5)
        var b = try DemoTickGenerator(group: "demo", symbols: symbols, seed: 5)
        for step in 0..<20 {
            #expect(a.next(nowNanoseconds: Int64(step)) == b.next(nowNanoseconds: Int64(step)))
        }
    }

    @Test("bad groups and symbols are refused before anything is published")
    func validation() {
        #expect(throws: SubjectTokenError.self) { try DemoTickGenerator(group: "a.b", symbols: symbols, seed: 1) }
        #expect(throws: SubjectTokenError.self) { try DemoTickGenerator(group: "demo", symbols: ["OK", "BAD SYMBOL"], seed: 1) }
        #expect(throws: SubjectTokenError.self) { try DemoTickGenerator(group: "demo", symbols: [], seed: 1) }
    }
}

// The aggregator's domain logic alone (issue 6 benchmark): events folded per second by
// MarketData (state + batcher, and decode + fold as the service does), and the time to build and
// encode a snapshot of a 5,000-symbol group. Prints a Markdown table; `make bench-aggregator`.
//
// Usage: xy-aggregator-bench [events] [symbols] [runs]   (defaults 2,000,000 5,000 5)
import MarketData
import SwiftProtobuf
import XYContracts

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let eventCount = arguments.count > 0 ? arguments[0] : 2_000_000
let symbolCount = arguments.count > 1 ? arguments[1] : 5_000
let runs = arguments.count > 2 ? arguments[2] : 5

let symbols = (1...symbolCount).map { "S\($0)" }
var generator = SystemRandomNumberGenerator()
var events: [Xy_Md_V1_MarketEvent] = []
events.reserveCapacity(eventCount)
for index in 0..<eventCount {
    var event = Xy_Md_V1_MarketEvent()
    event.symbol = symbols[Int.random(in: 0..<symbolCount, using: &generator)]
    event.vendorSequence = UInt64(index + 1)
    event.eventTimeNs = 1_763_780_000_000_000_000 + Int64(index) * 1_000
    if index % 3 == 0 {
        var quote = Xy_Md_V1_Quote()
        quote.bidPrice = 100 + Double(index % 100) / 100
        quote.askPrice = quote.bidPrice + 0.01
        quote.bidSize = 100
        quote.askSize = 200
        event.quote = quote
    } else {
        var trade = Xy_Md_V1_Trade()
        trade.price = 100 + Double(index % 100) / 100
        trade.size = Double(index % 500 + 1)
        event.trade = trade
    }
    events.append(event)
}
let encoded: [[UInt8]] = try events.map { try $0.serializedBytes() }

func seconds(_ duration: Duration) -> Double {
    let (s, atto) = duration.components
    return Double(s) + Double(atto) / 1e18
}

func median(_ values: [Double]) -> Double {
    values.sorted()[values.count / 2]
}

/// Folds every event into a fresh state and batcher, making a batch every 33,000 events
/// (33 ms at 1,000,000 events/s), as the aggregator's event loop does.
@MainActor func fold(decoding: Bool) throws -> Double {
    var state = MarketState()
    var batcher = TickBatcher(group: "bench")
    var symbolsOut = 0
    let clock = ContinuousClock()
    let started = clock.now
    for index in 0..<eventCount {
        let event = decoding ? try Xy_Md_V1_MarketEvent(serializedBytes: encoded[index]) : events[index]
        if case .applied(let symbol) = state.apply(event) {
            batcher.markChanged(symbol)
        }
        if index % 33_000 == 32_999, let batch = batcher.makeBatch(from: state, publishTimeNs: Int64(index)) {
            symbolsOut += batch.ticks.count
        }
    }
    let elapsed = seconds(clock.now - started)
    precondition(symbolsOut > 0)
    return Double(eventCount) / elapsed
}

var folded: [Double] = []
var decodedAndFolded: [Double] = []
for _ in 0..<runs {
    folded.append(try fold(decoding: false))
    decodedAndFolded.append(try fold(decoding: true))
}

// A group whose every symbol has traded and quoted.
var state = MarketState()
for event in events {
    _ = state.apply(event)
}
var buildTimes: [Double] = []
var encodeTimes: [Double] = []
var size = 0
for run in 0..<max(runs * 4, 20) {
    let clock = ContinuousClock()
    let started = clock.now
    let snapshot = state.snapshot(group: "bench", seq: UInt64(run), timeNs: 0)
    let built = clock.now
    let bytes: [UInt8] = try snapshot.serializedBytes()
    let done = clock.now
    size = bytes.count
    buildTimes.append(seconds(built - started))
    encodeTimes.append(seconds(done - built))
}

func grouped(_ value: Double) -> String {
    let digits = String(Int(value.rounded()))
    var out = ""
    for (offset, character) in digits.reversed().enumerated() {
        if offset > 0, offset % 3 == 0 { out.append(",") }
        out.append(character)
    }
    return String(out.reversed())
}

func milliseconds(_ seconds: Double) -> String {
    String(Double((seconds * 100_000).rounded()) / 100)
}

print("| aggregator bench (\(grouped(Double(eventCount))) events, \(state.symbols.count) symbols, median of \(runs)) | value |")
print("|---|---:|")
print("| MarketData fold (state + batcher), events/s | \(grouped(median(folded))) |")
print("| decode + fold, events/s | \(grouped(median(decodedAndFolded))) |")
print("| snapshot build, \(state.symbols.count) symbols, ms | \(milliseconds(median(buildTimes))) |")
print("| snapshot encode (\(grouped(Double(size))) bytes), ms | \(milliseconds(median(encodeTimes))) |")

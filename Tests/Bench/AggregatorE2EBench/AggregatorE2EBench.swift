import ArgumentParser
import Atomics
import Foundation
import NATS
import NIOConcurrencyHelpers
import NIOCore
import Upstream

#if canImport(Glibc)
import Glibc   // usleep
#endif

/// `AggregatorE2EBench`: both far ends of the end-to-end aggregator benchmark
/// (`scripts/bench-aggregator-e2e.sh`, `make bench-aggregator-e2e`). Publishes MarketEvents for symbols `E00001`… at a steady
/// rate on `xy.md.event.<SYMBOL>`, as xy-realtime would, and reads the group's
/// `xy.md.tick.<GROUP>` batches back: events folded per second, batch intervals, seq contiguity.
///
/// The publisher numbers each symbol's events 1, 2, 3… (`vendor_sequence`), so the batches alone
/// tell how many events came out the other side (``TickBatchTally``); the script compares that
/// with what was published and with the aggregator's `xy_md_events_in_total`.
@main
struct AggregatorE2EBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "AggregatorE2EBench",
        abstract: "Publish events to a running xy-aggregator at a set rate and measure its tick batches: events/s folded, batch intervals, seq."
    )

    @Option(help: "NATS server URL (default: $NATS_URL, then nats://127.0.0.1:4222).") var server: String?
    @Option(help: "Symbols E00001… (the aggregator's group must hold exactly these).") var symbols: Int = 1000
    @Option(help: "The aggregator's group.") var group: String = "bench"
    @Option(help: "Events published per second (trades and quotes, two to one).") var rate: Double = 300_000
    @Option(help: "Seconds to measure, after the warm-up.") var seconds: Double = 8
    @Option(help: "Seconds of publishing before the measurement starts.") var warmup: Double = 2
    @Option(help: "The aggregator's TICK_INTERVAL in milliseconds (the deviation is measured from it).") var intervalMs: Double = 33
    @Option(help: "Label put in the output.") var label: String = ""
    @Flag(help: "One JSON object instead of text.") var json = false

    func validate() throws {
        guard symbols > 0, symbols < 100_000 else { throw ValidationError("--symbols must be in 1…99999") }
        guard rate > 0, seconds > 0, warmup >= 0 else { throw ValidationError("--rate and --seconds must be positive") }
    }

    /// `E00001` for index 0: the names `scripts/bench-aggregator-e2e.sh` puts in `AGG_GROUPS`.
    static func symbol(_ index: Int) -> String {
        let digits = String(index + 1)
        return "E" + String(repeating: "0", count: max(0, 5 - digits.count)) + digits
    }

    /// The index of a symbol named by ``symbol(_:)``, read from its bytes.
    static func symbolIndex(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count == 6, bytes[0] == UInt8(ascii: "E") else { return nil }
        var number = 0
        for byte in bytes.dropFirst() {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            number = number * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return number - 1
    }

    func run() async throws {
        let url = server ?? ProcessInfo.processInfo.environment["NATS_URL"] ?? "nats://127.0.0.1:4222"
        let subscriber = try await Self.connect(url, name: "aggregator e2e bench (ticks)")
        let publisher = try await Self.connect(url, name: "aggregator e2e bench (events)")
        let tally = NIOLockedValueBox(TickBatchTally(symbols: symbols))
        let windowAfterNs = NIOLockedValueBox<UInt64>(.max)
        let subscription = try subscriber.subscribe("xy.md.tick.\(group)") { message in
            let now = Self.now()
            let startAfter = windowAfterNs.withLockedValue { $0 }
            message.payload.withUnsafeReadableBytes { bytes in
                tally.withLockedValue { tally in
                    tally.record(bytes, receiveNs: now, symbolIndex: Self.symbolIndex)
                    if !tally.measuring, now >= startAfter { tally.startWindow(atNs: now) }
                }
            }
        }
        try await subscriber.flush()

        let stop = ManagedAtomic(false)
        let published = ManagedAtomic(0)
        let done = ManagedAtomic(false)
        let subjects = (0..<symbols).map { "xy.md.event.\(Self.symbol($0))" }
        let names = (0..<symbols).map(Self.symbol)
        let rate = self.rate
        let thread = Thread {
            Self.publish(publisher, subjects: subjects, names: names, rate: rate, stop: stop, published: published)
            done.store(true, ordering: .releasing)
        }
        let started = Self.now()
        windowAfterNs.withLockedValue { $0 = started + UInt64(warmup * 1e9) }
        thread.start()

        // Measure until `seconds` after the first batch of the window, or give up after a long while.
        let giveUp = ContinuousClock.now + .seconds(warmup + seconds + 30)
        while ContinuousClock.now < giveUp {
            try await Task.sleep(for: .milliseconds(50))
            let (measuring, windowStart) = tally.withLockedValue { ($0.measuring, $0.windowStartNs) }
            if measuring, Self.now() - windowStart >= UInt64(seconds * 1e9) { break }
        }
        let window = tally.withLockedValue { tally -> TickBatchTally in
            let copy = tally
            tally.measuring = false
            return copy
        }
        stop.store(true, ordering: .relaxed)
        while !done.load(ordering: .acquiring) { try await Task.sleep(for: .milliseconds(5)) }
        let publishedTotal = published.load(ordering: .relaxed)
        let publishSeconds = Double(Self.now() - started) / 1e9
        try await publisher.flush(timeout: .seconds(30))

        // Drain: wait until the batches account for every event published, or stop moving.
        var lastFolded: UInt64 = 0
        var still = 0
        while still < 20 {
            try await Task.sleep(for: .milliseconds(50))
            let folded = tally.withLockedValue { $0.folded }
            if folded >= UInt64(publishedTotal) { break }
            still = folded == lastFolded ? still + 1 : 0
            lastFolded = folded
        }
        let final = tally.withLockedValue { $0 }
        try? subscription.unsubscribe()
        report(window: window, final: final, published: publishedTotal, publishSeconds: publishSeconds, dropped: subscription.droppedMessages)
        await publisher.close()
        await subscriber.close()
    }

    private func report(window: TickBatchTally, final: TickBatchTally, published: Int, publishSeconds: Double, dropped: Int) {
        let elapsed = Double(window.windowEndNs - window.windowStartNs) / 1e9
        let folded = elapsed > 0 ? Double(window.windowEndFolded - window.windowStartFolded) / elapsed : 0
        let expected = Int64(intervalMs * 1e6)
        let publishGaps = window.publishIntervals.sorted()
        let receiveGaps = window.receiveIntervals.sorted()
        let deviations = window.publishIntervals.map { abs($0 - expected) }.sorted()
        func ms(_ values: [Int64], _ p: Double) -> String {
            guard !values.isEmpty else { return "0" }
            let value = p >= 1 ? values[values.count - 1] : values[min(values.count - 1, Int(Double(values.count) * p))]
            return String(format: "%.3f", Double(value) / 1e6)
        }
        let batches = max(1, window.windowBatches)
        let fields: [(String, String)] = [
            ("bench", "\"aggregator-e2e\""), ("label", "\"\(label)\""), ("symbols", "\(symbols)"),
            ("offered_per_s", "\(Int(rate))"), ("published", "\(published)"),
            ("published_per_s", "\(Int(Double(published) / max(publishSeconds, 1e-9)))"),
            ("seconds", String(format: "%.3f", elapsed)), ("folded_per_s", "\(Int(folded))"),
            ("folded_total", "\(final.folded)"), ("unaccounted", "\(Int64(published) - Int64(final.folded))"),
            ("batches", "\(window.windowBatches)"), ("symbols_per_batch", "\(window.windowSymbols / batches)"),
            ("bytes_per_batch", "\(window.windowBytes / batches)"),
            ("missing_seqs", "\(final.missingSeqs)"), ("repeated_seqs", "\(final.repeatedSeqs)"), ("epoch_changes", "\(final.epochChanges)"),
            ("subscriber_dropped", "\(dropped)"),
            ("publish_gap_p50_ms", ms(publishGaps, 0.5)), ("publish_gap_p99_ms", ms(publishGaps, 0.99)),
            ("publish_gap_max_ms", ms(publishGaps, 1)), ("publish_gap_min_ms", ms(publishGaps, 0)),
            ("receive_gap_p50_ms", ms(receiveGaps, 0.5)), ("receive_gap_p99_ms", ms(receiveGaps, 0.99)),
            ("receive_gap_max_ms", ms(receiveGaps, 1)),
            ("deviation_p99_ms", ms(deviations, 0.99)),
        ]
        if json {
            Self.printLine("{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}")
        } else {
            for (name, value) in fields { Self.printLine("\(name) \(value)") }
        }
    }

    static func connect(_ url: String, name: String) async throws -> NATSClient {
        var options = try NATSClientOptions(url: url)
        options.name = name
        return try await NATSClient.connect(options)
    }

    /// Monotonic nanoseconds.
    static func now() -> UInt64 {
        NIODeadline.now().uptimeNanoseconds
    }

    /// Nanoseconds since the Unix epoch (microsecond precision is plenty for event times in ms).
    static func wallNow() -> UInt64 {
        UInt64(Date().timeIntervalSince1970 * 1e9)
    }

    static func printLine(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    /// The publisher thread: events for every symbol in turn, two trades to one quote, prices on a
    /// small random walk, at `rate` per second on average (it catches up after a stall).
    private static func publish(
        _ client: NATSClient, subjects: [String], names: [String], rate: Double,
        stop: ManagedAtomic<Bool>, published: ManagedAtomic<Int>
    ) {
        var encoder = MarketEventWireEncoder(source: "bench")
        var buffer = ByteBuffer()
        buffer.reserveCapacity(256)
        var prices = [Double](repeating: 100, count: subjects.count)
        var sequences = [UInt64](repeating: 0, count: subjects.count)
        var random: UInt64 = 0x9E37_79B9_7F4A_7C15
        let started = Self.now()
        var sent = 0
        while !stop.load(ordering: .relaxed) {
            let due = Int(Double(Self.now() - started) * rate / 1e9)
            if sent >= due {
                usleep(200)
                continue
            }
            let wall = Int64(bitPattern: Self.wallNow())
            while sent < due {
                let index = sent % subjects.count
                sequences[index] += 1
                random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let step = Double(Int64(random >> 54) - 512) / 512 * 0.001
                prices[index] = max(1, prices[index] * (1 + step))
                var event = VendorEvent(kind: sequences[index] % 3 == 0 ? .quote : .trade)
                event.symbol = names[index]
                event.sequence = sequences[index]
                event.timeMilliseconds = wall / 1_000_000
                if event.kind == .quote {
                    event.bidPrice = prices[index] - 0.01
                    event.askPrice = prices[index] + 0.01
                    event.bidSize = 100
                    event.askSize = 200
                } else {
                    event.price = prices[index]
                    event.size = Double(random >> 55 + 1)
                }
                encoder.encode(event, receiveTimeNanoseconds: wall, into: &buffer)
                do {
                    try client.publish(subjects[index], payload: buffer)
                } catch {
                    FileHandle.standardError.write(Data("publish failed: \(error)\n".utf8))
                    return
                }
                sent += 1
            }
            published.store(sent, ordering: .relaxed)
        }
        published.store(sent, ordering: .relaxed)
    }
}

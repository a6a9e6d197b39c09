import ArgumentParser
import Foundation
import MarketData
import NATS
import NIOConcurrencyHelpers
import NIOCore
import XYCore

/// `xy bench events`: the far end of the proxy benchmark (`scripts/bench-realtime.sh`). Counts
/// the MarketEvents arriving on `xy.md.event.*` for a while, finds events lost on the way from
/// gaps in each symbol's vendor sequence, and reports the rate and latency percentiles.
///
/// Reads only the top-level fields it needs from each payload (vendor sequence, event and receive
/// times), keys sequences by subject and reads one clock per message, so the subscriber itself
/// is not what limits the measurement.
struct BenchEvents: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Receive xy.md.event.* for a while: events/s, events lost (vendor sequence gaps), ingest latency."
    )

    @OptionGroup var connection: ConnectionOptions
    @Option(help: "Seconds to measure, counted from the first event after the warm-up.") var seconds: Double = 10
    @Option(help: "Seconds of events to ignore first (connection set-up, backlog).") var warmup: Double = 2
    @Option(help: "Label put in the output (the simulator's rate, for instance).") var label: String = ""
    @Flag(help: "One JSON object instead of text.") var json = false

    /// What the callback accumulates; the lock is taken once per message on the event loop.
    struct Tally {
        var first: UInt64?
        var started: UInt64 = 0
        var measuring = false
        var events = 0
        var lost: UInt64 = 0
        /// Last vendor sequence per subject (one subject per symbol).
        var lastSequence: [String: UInt64] = [:]
        var ingest: [Int64] = []
        var endToEnd: [Int64] = []
    }

    func run() async throws {
        let client = try await connection.connect(name: "xy bench events")
        let tally = NIOLockedValueBox(Tally())
        let warmupNanoseconds = UInt64(warmup * 1e9)
        // One clock read per message: the wall clock is the monotonic one plus this offset.
        let wallOffset = wallClockNanoseconds() - Int64(bitPattern: monotonicNanoseconds())
        let subscription = try client.subscribe("xy.md.event.*") { message in
            let now = monotonicNanoseconds()
            let fields = Self.fields(message.payload)
            tally.withLockedValue { tally in
                let startedAt = tally.first ?? now
                tally.first = startedAt
                if fields.sequence > 0 {
                    tally.lost += Self.advance(&tally.lastSequence[message.subject, default: 0], to: fields.sequence, counting: tally.measuring)
                }
                guard now - startedAt >= warmupNanoseconds else { return }
                if !tally.measuring {
                    tally.measuring = true
                    tally.started = now
                }
                tally.events += 1
                if fields.eventTime > 0 {
                    if fields.receiveTime > 0, tally.ingest.count < 5_000_000 { tally.ingest.append(fields.receiveTime - fields.eventTime) }
                    if tally.endToEnd.count < 5_000_000 { tally.endToEnd.append(Int64(bitPattern: now) + wallOffset - fields.eventTime) }
                }
            }
        }
        try await client.flush()
        let deadline = ContinuousClock.now + .seconds(warmup + seconds + 30)
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            let (measuring, started) = tally.withLockedValue { ($0.measuring, $0.started) }
            if measuring, monotonicNanoseconds() - started >= UInt64(seconds * 1e9) { break }
        }
        try? subscription.unsubscribe()
        let result = tally.withLockedValue { $0 }
        let elapsed = Double(monotonicNanoseconds() - result.started) / 1e9
        let rate = result.measuring ? Double(result.events) / elapsed : 0
        let ingest = result.ingest.sorted()
        let endToEnd = result.endToEnd.sorted()
        func percentile(_ values: [Int64], _ p: Double) -> Double {
            guard !values.isEmpty else { return 0 }
            return Double(values[min(values.count - 1, Int(Double(values.count) * p))]) / 1e6
        }
        let dropped = subscription.droppedMessages
        if json {
            printLine(
                "{\"bench\":\"realtime\",\"label\":\"\(label)\",\"events\":\(result.events),\"seconds\":\(String(format: "%.3f", elapsed)),"
                    + "\"events_per_s\":\(Int(rate)),\"lost\":\(result.lost),\"subscriber_dropped\":\(dropped),"
                    + "\"ingest_p50_ms\":\(String(format: "%.3f", percentile(ingest, 0.5))),\"ingest_p99_ms\":\(String(format: "%.3f", percentile(ingest, 0.99))),"
                    + "\"e2e_p50_ms\":\(String(format: "%.3f", percentile(endToEnd, 0.5))),\"e2e_p99_ms\":\(String(format: "%.3f", percentile(endToEnd, 0.99)))}"
            )
        } else {
            printLine("events \(result.events) in \(String(format: "%.2f", elapsed)) s: \(Int(rate)) events/s, lost \(result.lost), subscriber dropped \(dropped)")
            printLine("ingest latency (vendor time → xy-realtime receive) p50 \(String(format: "%.2f", percentile(ingest, 0.5))) ms, p99 \(String(format: "%.2f", percentile(ingest, 0.99))) ms")
            printLine("end to end (vendor time → this subscriber) p50 \(String(format: "%.2f", percentile(endToEnd, 0.5))) ms, p99 \(String(format: "%.2f", percentile(endToEnd, 0.99))) ms")
        }
        await client.close()
    }

    /// Moves a symbol's last sequence to `sequence`; returns how many events were skipped (when
    /// `counting`). The simulator's second aggregates take every 25th sequence number: with the A
    /// channel unsubscribed those are expected holes, not losses.
    static func advance(_ last: inout UInt64, to sequence: UInt64, counting: Bool) -> UInt64 {
        defer { last = sequence }
        guard counting, last > 0, sequence > last + 1 else { return 0 }
        var missing = sequence - last - 1
        var position = last + 1
        while position < sequence {
            if position % 25 == 0 { missing -= 1 }
            position += 1
        }
        return missing
    }

    /// vendor_sequence (2), event_time_ns (3), receive_time_ns (4) of a MarketEvent.
    static func fields(_ payload: ByteBuffer) -> (sequence: UInt64, eventTime: Int64, receiveTime: Int64) {
        var sequence: UInt64 = 0
        var eventTime: Int64 = 0
        var receiveTime: Int64 = 0
        payload.withUnsafeReadableBytes { bytes in
            var reader = ProtobufWireReader(bytes, 0..<bytes.count)
            while !reader.atEnd {
                guard let (field, type) = reader.key() else { return }
                switch (field, type) {
                case (2, 0): sequence = reader.varint() ?? 0
                case (3, 0): eventTime = Int64(bitPattern: reader.varint() ?? 0)
                case (4, 0): receiveTime = Int64(bitPattern: reader.varint() ?? 0)
                case (_, 2) where field >= 10:
                    return   // the event itself: nothing after it is needed
                default:
                    guard reader.skip(type) else { return }
                }
            }
        }
        return (sequence, eventTime, receiveTime)
    }
}

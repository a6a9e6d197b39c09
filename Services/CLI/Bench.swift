import ArgumentParser
import Atomics
import Foundation
import NATS
import NIOCore

/// `xy bench`: the same measurements as libnats' and nats.go's benchmarks, so figures compare side by side.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure publish, subscribe, pub+sub, request/reply, JetStream publish, key-value put and the realtime event path.",
        subcommands: [PubBench.self, SubBench.self, PubSubBench.self, ReqBench.self, JSPubBench.self, KVPutBench.self, BenchEvents.self, BenchWS.self]
    )

    struct Common: ParsableArguments {
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Messages to send or receive.") var msgs: Int = 1_000_000
        @Option(help: "Payload size in bytes.") var size: Int = 16
        @Option(help: "Subject.") var subject: String = "xy.bench"
        @Flag(help: "One JSON object per line instead of a table.") var json = false

        func validate() throws {
            guard msgs > 0 else { throw ValidationError("--msgs must be positive") }
            guard size >= 0 else { throw ValidationError("--size must not be negative") }
        }

        var payload: ByteBuffer { ByteBuffer(repeating: UInt8(ascii: "x"), count: size) }

        func report(_ bench: String, seconds: Double, extra: [(String, Double)] = []) {
            let rate = Double(msgs) / seconds
            if json {
                var fields = "\"client\":\"xy\",\"bench\":\"\(bench)\",\"size\":\(size),\"msgs\":\(msgs),"
                fields += "\"seconds\":\(String(format: "%.6f", seconds)),\"msgs_per_s\":\(Int(rate)),\"bytes_per_s\":\(Int(rate * Double(size)))"
                for (key, value) in extra { fields += ",\"\(key)\":\(String(format: "%.1f", value))" }
                printLine("{\(fields)}")
            } else {
                func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(1, width - text.count)) }
                printLine(pad("bench", 9) + pad("size", 7) + pad("msgs", 11) + pad("seconds", 10) + pad("msgs/s", 13) + "MB/s")
                printLine(pad(bench, 9) + pad("\(size)", 7) + pad("\(msgs)", 11) + pad(String(format: "%.3f", seconds), 10)
                    + pad("\(Int(rate))", 13) + String(format: "%.2f", rate * Double(size) / 1e6))
                for (key, value) in extra { printLine(pad(key, 9) + String(format: "%.1f", value)) }
            }
        }

        /// Reports a latency run: its rate and the p50 and p99 of `latencies` (µs).
        func reportLatencies(_ bench: String, _ latencies: [Double], elapsed: Duration) {
            let sorted = latencies.sorted()
            func percentile(_ p: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
            report(bench, seconds: elapsed.seconds, extra: [("p50_us", percentile(0.50)), ("p99_us", percentile(0.99))])
        }
    }

    struct PubBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "pub", abstract: "Publish as fast as possible, then flush.")
        @OptionGroup var common: Common

        func run() async throws {
            let client = try await common.connection.connect(name: "xy bench pub")
            let payload = common.payload
            let subject = common.subject
            let count = common.msgs
            let start = ContinuousClock.now
            try await publishPaced(client, subject: subject, payload: payload, count: count)
            try await client.flush(timeout: .seconds(60))
            let elapsed = ContinuousClock.now - start
            common.report("pub", seconds: elapsed.seconds)
            await client.close()
        }
    }

    struct SubBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "sub", abstract: "Receive --msgs messages from another publisher; time from the first.")
        @OptionGroup var common: Common

        func run() async throws {
            let client = try await common.connection.connect(name: "xy bench sub")
            let subscription = try client.subscribe(common.subject, pendingLimits: NATSPendingLimits(messages: 10_000_000, bytes: 1 << 30))
            try await client.flush()
            FileHandle.standardError.write(Data("ready\n".utf8))
            let total = common.msgs
            var received = 0
            var start = ContinuousClock.now
            for try await _ in subscription {
                if received == 0 { start = .now }
                received += 1
                if received == total { break }
            }
            common.report("sub", seconds: (ContinuousClock.now - start).seconds)
            await client.close()
        }
    }

    struct PubSubBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "pubsub", abstract: "One publisher and one subscriber connection; delivered messages per second.")
        @OptionGroup var common: Common
        @Flag(help: "Receive through the event-loop callback instead of the AsyncSequence.") var callback = false

        func run() async throws {
            let subscriber = try await common.connection.connect(name: "xy bench pubsub-sub")
            let publisher = try await common.connection.connect(name: "xy bench pubsub-pub")
            let total = common.msgs
            let limits = NATSPendingLimits(messages: 10_000_000, bytes: 1 << 30)
            let start = ContinuousClock.now
            let elapsed: Duration
            if callback {
                let counter = ManagedAtomic<Int>(0)
                let done = AsyncStream<Void>.makeStream()
                try subscriber.subscribe(common.subject) { _ in
                    if counter.wrappingIncrementThenLoad(ordering: .relaxed) == total { done.continuation.yield() }
                }
                try await subscriber.flush()
                let start = ContinuousClock.now
                try await publishAll(publisher)
                for await _ in done.stream { break }
                elapsed = ContinuousClock.now - start
            } else {
                let subscription = try subscriber.subscribe(common.subject, pendingLimits: limits)
                try await subscriber.flush()
                let receiver = Task {
                    var received = 0
                    for try await _ in subscription {
                        received += 1
                        if received == total { break }
                    }
                    return ContinuousClock.now
                }
                let begin = ContinuousClock.now
                try await publishAll(publisher)
                try await publisher.flush(timeout: .seconds(60))
                elapsed = try await receiver.value - begin
            }
            _ = start
            let dropped = subscriber.statistics.droppedMessages
            common.report("pubsub", seconds: elapsed.seconds, extra: dropped > 0 ? [("dropped", Double(dropped))] : [])
            await publisher.close()
            await subscriber.close()
        }

        /// Reads the options once: property wrappers are not free in a loop of millions.
        private func publishAll(_ publisher: NATSClient) async throws {
            try await publishPaced(publisher, subject: common.subject, payload: common.payload, count: common.msgs)
        }
    }

    struct ReqBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "req", abstract: "Sequential requests to an echo replier; latency percentiles.")
        @OptionGroup var common: Common

        func run() async throws {
            let replier = try await common.connection.connect(name: "xy bench req-replier")
            try replier.subscribe(common.subject) { message in
                if let reply = message.replyTo { try? replier.publish(reply, payload: message.payload) }
            }
            try await replier.flush()
            let requester = try await common.connection.connect(name: "xy bench req-requester")
            let loop = BenchLoop(client: requester)
            let (latencies, elapsed) = try await loop.requests(subject: common.subject, payload: common.payload, count: common.msgs)
            common.reportLatencies("req", latencies, elapsed: elapsed)
            await requester.close()
            await replier.close()
        }
    }
}

/// Publishes `count` messages paced as xy-realtime paces its per-frame bursts: plain publishes
/// (which never suspend) in bursts of 1,024, then a wait until the socket has caught up. The inner
/// loop has no suspension point, so it pays no executor check per message, which
/// `publishWithBackpressure` in the loop did (about 100 instructions of a 16-byte publish's 1,000).
func publishPaced(_ client: NATSClient, subject: String, payload: ByteBuffer, count: Int) async throws {
    var sent = 0
    while sent < count {
        let burst = min(1024, count - sent)
        for _ in 0..<burst {
            try client.publish(subject, payload: payload)
        }
        sent += burst
        await client.waitUntilWritable()
    }
}

extension Duration {
    var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }
}

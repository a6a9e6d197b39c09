import ArgumentParser
import DequeModule
import NATS
import NIOCore

extension Bench {
    /// Acknowledged publishes with a window of outstanding acks, the way a producer reaches a stream's rate.
    struct JSPubBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "js-pub", abstract: "Publish to a fresh stream with a window of outstanding acks; acked messages per second."
        )
        @OptionGroup var common: Common
        @Option(help: "Acknowledgements outstanding at most.") var window: Int = 256
        @Option(help: "Stream storage: file or memory.") var storage: String = "file"

        func run() async throws {
            guard window > 0 else { throw ValidationError("--window must be positive") }
            let client = try await common.connection.connect(name: "xy bench js-pub")
            let js = client.jetStream()
            var config = StreamConfiguration(name: "XYBENCH", subjects: [common.subject])
            config.storage = .init(rawValue: storage)
            try? await js.deleteStream("XYBENCH")
            _ = try await js.createStream(config)
            let loop = BenchLoop(client: client)
            let (last, elapsed) = try await loop.publish(js, subject: common.subject, payload: common.payload, count: common.msgs, window: window)
            guard last == UInt64(common.msgs) else {
                throw ValidationError("the stream acknowledged up to sequence \(last), expected \(common.msgs)")
            }
            common.report("js-pub", seconds: elapsed.seconds, extra: [("window", Double(window))])
            try await js.deleteStream("XYBENCH")
            await client.close()
        }
    }

    /// Sequential key-value puts (each waits for its ack), cycling over a set of keys; latency percentiles.
    struct KVPutBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "kv-put", abstract: "Sequential puts into a fresh bucket; puts per second and latency."
        )
        @OptionGroup var common: Common
        @Option(help: "Distinct keys written in turn.") var keys: Int = 100

        func run() async throws {
            guard keys > 0 else { throw ValidationError("--keys must be positive") }
            let client = try await common.connection.connect(name: "xy bench kv-put")
            let js = client.jetStream()
            try? await js.deleteKeyValue("xybench")
            let kv = try await js.createKeyValue(KeyValueConfiguration(bucket: "xybench"))
            let loop = BenchLoop(client: client)
            let (latencies, elapsed) = try await loop.put(kv, keys: (0..<keys).map { "k\($0)" }, payload: common.payload, count: common.msgs)
            common.reportLatencies("kv-put", latencies, elapsed: elapsed)
            try await js.deleteKeyValue("xybench")
            await client.close()
        }
    }
}

/// Runs the sequential bench loops (requests, JetStream publishes, key-value puts) on the
/// client's own event loop, so neither a reply nor an ack crosses a thread: the latency measured
/// is the client's and the server's.
actor BenchLoop {
    let client: NATSClient
    nonisolated let unownedExecutor: UnownedSerialExecutor

    init(client: NATSClient) {
        self.client = client
        self.unownedExecutor = client.eventLoop.executor.asUnownedSerialExecutor()
    }

    /// Sends `count` requests one after another; their latencies (µs) and the whole run's time.
    func requests(subject: String, payload: ByteBuffer, count: Int) async throws -> ([Double], Duration) {
        var latencies: [Double] = []
        latencies.reserveCapacity(count)
        let start = ContinuousClock.now
        for _ in 0..<count {
            let sent = ContinuousClock.now
            _ = try await client.request(subject, payload: payload, timeout: .seconds(5))
            latencies.append((ContinuousClock.now - sent).seconds * 1e6)
        }
        return (latencies, ContinuousClock.now - start)
    }

    /// Returns the last acknowledged sequence and the time from the first publish to the last ack.
    func publish(_ js: JetStream, subject: String, payload: ByteBuffer, count: Int, window: Int) async throws -> (UInt64, Duration) {
        var inFlight = Deque<JetStreamPendingAck>()
        var last: UInt64 = 0
        let start = ContinuousClock.now
        for _ in 0..<count {
            if inFlight.count >= window { last = try await inFlight.removeFirst().get().sequence }
            inFlight.append(js.publishAsync(subject, payload: payload))
        }
        while let future = inFlight.popFirst() { last = try await future.get().sequence }
        return (last, ContinuousClock.now - start)
    }

    func put(_ kv: KeyValue, keys: [String], payload: ByteBuffer, count: Int) async throws -> ([Double], Duration) {
        var latencies: [Double] = []
        latencies.reserveCapacity(count)
        let start = ContinuousClock.now
        for i in 0..<count {
            let sent = ContinuousClock.now
            try await kv.put(keys[i % keys.count], payload)
            latencies.append((ContinuousClock.now - sent).seconds * 1e6)
        }
        return (latencies, ContinuousClock.now - start)
    }
}

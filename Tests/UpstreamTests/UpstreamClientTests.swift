import Logging
import NATS
import NATSTestSupport
import PolygonSim
import Testing
import Upstream
import XYService

/// `UpstreamClient` against the vendor simulator on a loopback WebSocket (both in this process,
/// their logs recorded) and a real nats-server.
@Suite("Upstream client against the simulator")
struct UpstreamClientTests {
    @Test(
        "subscribe and unsubscribe decided by several tasks at once reach the vendor in the order the machine decided them",
        .timeLimit(.minutes(2)))
    func changesArriveInDecisionOrder() async throws {
        var sim = PolygonSimConfiguration()
        sim.symbols = ["AAPL", "MSFT"]
        sim.rate = 10
        try await Self.withStack(sim: sim, symbols: ["AAPL"]) { stack in
            try await stack.eventually("the client is streaming") {
                stack.clientLog.contains { $0.message == "upstream authenticated and subscribed" }
            }
            // As the control service serves its two subjects, from several tasks at once: some add
            // MSFT, the others drop it. Only a call that changes the interest sends a message, so
            // the decided messages alternate subscribe, unsubscribe, subscribe, … from subscribe.
            let decided = await withTaskGroup(of: Int.self) { group in
                for task in 0..<8 {
                    group.addTask {
                        await Self.count(100) {
                            let change = task % 2 == 0 ? await stack.client.subscribe(["MSFT"]) : await stack.client.unsubscribe(["MSFT"])
                            return !change.changed.isEmpty
                        }
                    }
                }
                return await group.reduce(0, +)
            }
            #expect(decided > 1)
            let changes = { stack.simLog.entries.compactMap { $0.metadata["change"] }.filter { $0.contains("MSFT") } }
            try await stack.eventually("the simulator applied all \(decided) changes") { changes().count >= decided }
            let received = changes()
            #expect(received.count == decided)
            let expected = (0..<decided).map { $0 % 2 == 0 ? "subscribe T.MSFT,Q.MSFT,AM.MSFT" : "unsubscribe T.MSFT,Q.MSFT,AM.MSFT" }
            let firstOutOfOrder = zip(received, expected).enumerated().first { $0.element.0 != $0.element.1 }
            #expect(firstOutOfOrder == nil, "message \(firstOutOfOrder?.offset ?? 0) of \(decided) arrived out of the decided order")
            #expect(stack.client.interest.symbols.contains("MSFT") == (decided % 2 == 1))
        }
    }

    @Test(
        "a vendor message over UPSTREAM_MAX_MESSAGE_BYTES, sent in fragments, closes the connection with XYW109 and the client connects again",
        .timeLimit(.minutes(2)))
    func oversizedMessageClosesTheConnection() async throws {
        var sim = PolygonSimConfiguration()
        sim.symbols = ["AAPL"]
        sim.rate = 10
        sim.maxConnections = 2
        sim.oversizedMessageBytes = 4 << 20
        try await Self.withStack(sim: sim, symbols: ["AAPL"], maxMessageBytes: 1 << 20) { stack in
            // Every connection gets the message, so the client closes, reconnects, and closes again.
            try await stack.eventually("two connections closed for the oversized message") {
                stack.clientLog.entries.filter { $0.metadata["code"] == "XYW109" && $0.level == .error }.count >= 2
            }
            let reconnect = stack.clientLog.entries.first { $0.message == "upstream connection lost; reconnecting" }
            #expect(reconnect?.metadata["failure"] == "messageTooLarge")
            #expect(reconnect?.metadata["code"] == "XYW109")
            let report = stack.clientLog.entries.first { $0.metadata["code"] == "XYW109" && $0.level == .error }
            #expect(report?.message.contains("over 1048576 bytes") == true)
        }
    }

    /// How many of `rounds` calls of `body` answered true.
    static func count(_ rounds: Int, _ body: () async -> Bool) async -> Int {
        var count = 0
        for _ in 0..<rounds where await body() { count += 1 }
        return count
    }

    /// What a test works with.
    struct Stack: Sendable {
        let client: UpstreamClient
        let simLog: LogRecorder
        let clientLog: LogRecorder

        /// Polls `condition` every 20 ms until it holds; throws after `timeout`.
        func eventually(_ what: String, timeout: Duration = .seconds(30), _ condition: () -> Bool) async throws {
            let deadline = ContinuousClock.now + timeout
            while !condition() {
                guard ContinuousClock.now < deadline else { throw StackError(message: "timed out: \(what)") }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    struct StackError: Error {
        let message: String
    }

    /// Runs the simulator, a nats-server and an `UpstreamClient` for `symbols`, then `body`, and
    /// stops them all whichever way `body` ended.
    static func withStack(
        sim configuration: PolygonSimConfiguration, symbols: [String], maxMessageBytes: Int = 16 << 20,
        _ body: @Sendable (Stack) async throws -> Void
    ) async throws {
        var configuration = configuration
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.apiKey = "sim-test-key"
        let server = try await NATSServer.start(.init())
        let nats: NATSClient
        do {
            nats = try await NATSClient.connect(url: server.url)
        } catch {
            await server.stop()
            throw error
        }
        let simLog = LogRecorder()
        let clientLog = LogRecorder()
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let sim = PolygonSimServer(configuration: configuration, logger: simLog.logger("sim")) { port in portSink.yield(port) }
        var failure: (any Error)?
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await sim.run() }
                var iterator = ports.makeAsyncIterator()
                guard let port = await iterator.next() else { throw StackError(message: "the simulator did not listen") }
                let upstream = UpstreamConfiguration(
                    url: "ws://127.0.0.1:\(port)/stocks", apiKey: configuration.apiKey, symbols: symbols,
                    backoffInitial: .milliseconds(50), backoffMaximum: .milliseconds(200), maxMessageBytes: maxMessageBytes)
                let client = UpstreamClient(
                    configuration: upstream, nats: nats, metrics: UpstreamMetrics(), readiness: ReadinessState(),
                    logger: clientLog.logger("upstream"))
                group.addTask { try await client.run() }
                defer { group.cancelAll() }
                try await body(Stack(client: client, simLog: simLog, clientLog: clientLog))
            }
        } catch {
            failure = error
        }
        await nats.close()
        await server.stop()
        if let failure { throw failure }
    }
}

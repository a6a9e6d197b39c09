@testable import Gateway
import Logging
import NATS
import NATSTestSupport
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing

/// The hub's snapshot requests belong to ``FanoutHub/run()``: they start when it runs, end when
/// it is cancelled, and none is left asking after it. Over a real nats-server.
@Suite("FanoutHub lifetime")
struct FanoutHubLifetimeTests {
    @Test(
        "a snapshot request made before run() starts with it, retries as its child, and ends when run() is cancelled; one made after is not left in flight",
        .timeLimit(.minutes(1)))
    func snapshotRequestsAreChildrenOfRun() async throws {
        let server = try await NATSServer.start(.init())
        let nats: NATSClient
        do {
            nats = try await NATSClient.connect(url: server.url)
        } catch {
            await server.stop()
            throw error
        }
        do {
            // A responder that never answers: each request waits out its timeout and is asked again.
            let asked = NIOLockedValueBox(0)
            let listener = try nats.subscribe("xy.md.snapshot.get.quiet") { _ in asked.withLockedValue { $0 += 1 } }
            defer { try? listener.unsubscribe() }
            try await nats.flush()
            let hub = FanoutHub(
                nats: nats, loops: [EmbeddedEventLoop()], encoder: MessageEncoder(source: "test"), metrics: GatewayMetrics(),
                snapshotTimeout: .milliseconds(100), logger: Logger(label: "test"))
            let topic = Topic(subject: "xy.md.tick.quiet", kind: .ticks, shardCount: 1)
            hub.requestSnapshot(topic, group: "quiet", repair: false)
            #expect(topic.state.withLockedValue { $0.snapshotRequests["quiet"] } == false)

            let running = Task { await hub.run() }
            try await Self.eventually("the request is asked and retried") { asked.withLockedValue { $0 } >= 2 }
            running.cancel()
            // Returns only once its children (the retrying request) have ended.
            await running.value

            hub.requestSnapshot(topic, group: "later", repair: true)
            #expect(topic.state.withLockedValue { $0.snapshotRequests["later"] } == nil)
        } catch {
            Issue.record(error)
        }
        await nats.close()
        await server.stop()
    }

    /// Polls `condition` every 20 ms until it holds, failing after `timeout`.
    static func eventually(_ what: String, timeout: Duration = .seconds(20), _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out: \(what)")
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

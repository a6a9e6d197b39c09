import Logging
import NATS
import NATSTestSupport
import NIOCore
import Testing
import Upstream

@Suite("MarketEvent publisher against nats-server")
struct MarketEventPublisherTests {
    @Test("a vendor time too large for nanoseconds is published but not timed, and never stops the process")
    func hugeVendorTime() async throws {
        let server = try await NATSServer.start()
        let client = try await NATSClient.connect(try NATSClientOptions(url: server.url))
        let subscription = try client.subscribe("xy.md.event.>")
        try await client.flush()
        let metrics = UpstreamMetrics()
        var publisher = MarketEventPublisher(client: client, source: "polygon", metrics: metrics, logger: Logger(label: "test"))
        let frame = ByteBuffer(string: #"[{"ev":"T","sym":"A","p":1,"s":1,"t":9200000000000000000,"q":1},{"ev":"T","sym":"B","p":2,"s":1,"t":1700000000000,"q":1}]"#)
        let statuses = publisher.process(frame: frame, receiveTimeNanoseconds: 1)
        #expect(statuses.isEmpty)
        #expect(publisher.total.published == 2)
        #expect(metrics.ingestLatency.count == 1)
        // Drain: what was published before it has arrived, then the sequence ends (never hangs).
        try await subscription.drain()
        var subjects: [String] = []
        for try await message in subscription { subjects.append(message.subject) }
        #expect(subjects == ["xy.md.event.A", "xy.md.event.B"])
        await client.close()
        await server.stop()
    }
}

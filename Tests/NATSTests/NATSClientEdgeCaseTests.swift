import NATS
import NATSTestSupport
import NIOCore
import Testing

@testable import NATS

@Suite("Client edge cases")
struct NATSClientEdgeCaseTests {
    @Test("unsubscribe(after:) ends the sequence even when some of those messages were dropped")
    func autoUnsubscribeWithDrops() async throws {
        let server = try await NATSServer.start()
        let client = try await connect(server)
        let subscription = try client.subscribe("limited", pendingLimits: NATSPendingLimits(messages: 2, bytes: 1 << 20))
        try subscription.unsubscribe(after: 5)
        try await client.flush()
        for i in 0..<10 { try client.publish("limited", "\(i)") }
        try await client.flush()
        var received: [String] = []
        for try await message in subscription { received.append(message.string) }
        #expect(received == ["0", "1"])
        #expect(subscription.droppedMessages == 3)
        await client.close()
        await server.stop()
    }

    @Test("cancelling a consumer that waits for messages ends its loop without blocking")
    func cancelledConsumer() async throws {
        let server = try await NATSServer.start()
        let client = try await connect(server)
        let subscription = try client.subscribe("quiet")
        let consumer = Task {
            var count = 0
            for try await _ in subscription { count += 1 }
            return count
        }
        try await Task.sleep(for: .milliseconds(100))
        consumer.cancel()
        #expect(try await consumer.value == 0)
        // An already-cancelled task returns at once too.
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            var iterator = subscription.makeAsyncIterator()
            return try await iterator.next()
        }
        #expect(try await early.value == nil)
        await client.close()
        await server.stop()
    }

    @Test("a small read burst still delivers every message whole and in order, one larger than the burst included")
    func smallReadBurst() async throws {
        let server = try await NATSServer.start()
        let receiver = try await connect(server) { $0.readBurstBytes = 1024 }
        #expect(receiver.readBurst.reads == 1)
        #expect(receiver.readBurst.bytesPerRead == 1024)
        let subscription = try receiver.subscribe("burst.>")
        try await receiver.flush()
        let sender = try await connect(server)
        let large = String(repeating: "L", count: 200_000)
        for i in 0..<3000 {
            try sender.publish("burst.\(i % 7)", i == 1500 ? large : "\(i)")
        }
        try await sender.flush()
        let messages = try await collect(subscription, count: 3000)
        #expect(messages.map(\.string) == (0..<3000).map { $0 == 1500 ? large : "\($0)" })
        #expect(messages.map(\.subject) == (0..<3000).map { "burst.\($0 % 7)" })
        // Whole reads of a power of two, never more than asked (1 KiB at least).
        #expect(NATSClient.readBurst(100_000) == (1, 65536))
        #expect(NATSClient.readBurst(20_000) == (1, 16384))
        #expect(NATSClient.readBurst(200_000) == (3, 65536))
        #expect(NATSClient.readBurst(10) == (1, 1024))
        // The default is SwiftNIO's: four reads of up to 64 KiB.
        let plain = try await connect(server)
        #expect(plain.readBurst.reads == 4)
        #expect(plain.readBurst.bytesPerRead == 65536)
        await plain.close()
        await sender.close()
        await receiver.close()
        await server.stop()
    }

    @Test("close() still sends what publish accepted before it")
    func closeSendsBuffered() async throws {
        let server = try await NATSServer.start()
        let receiver = try await connect(server)
        let subscription = try receiver.subscribe("last.words")
        try await receiver.flush()
        let sender = try await connect(server)
        for i in 0..<5000 { try sender.publish("last.words", "\(i)") }
        await sender.close()
        let messages = try await collect(subscription, count: 5000)
        #expect(messages.last?.string == "4999")
        await receiver.close()
        await server.stop()
    }

    @Test("the denied subject is read from the first quotes of a permissions violation")
    func quotedSubject() {
        #expect(NATSClient.quotedSubject(in: #"Permissions Violation for Subscription to "a.b" using queue "q""#) == "a.b")
        #expect(NATSClient.quotedSubject(in: #"Permissions Violation for Publish to "x.y""#) == "x.y")
        #expect(NATSClient.quotedSubject(in: "no quotes") == nil)
    }

    @Test("a denied queue subscription ends with permissionsViolation")
    func deniedQueueSubscription() async throws {
        let limited = Permissions(publishAllow: ["ok.>"], subscribeAllow: ["ok.>", "_INBOX.>"])
        let server = try await NATSServer.start(.init(users: [.init(user: "q", password: "pw", permissions: limited)]))
        let client = try await connect(server) { $0.authentication = .userPassword(user: "q", password: "pw") }
        let denied = try client.subscribe("nope.x", queue: "workers")
        await expectNATSError(.permissionsViolation) {
            for try await _ in denied {}
        }
        #expect(client.isConnected)
        await client.close()
        await server.stop()
    }
}

import NATS
import NATSTestSupport
import NIOCore
import Testing

@testable import NATS

/// Polls `condition` every 10 ms until it holds; fails naming `what` after `within`.
func waitFor(_ what: @autoclosure () -> String, within: Duration = .seconds(10), _ condition: () throws -> Bool) async throws {
    let deadline = ContinuousClock.now + within
    while try !condition() {
        guard ContinuousClock.now < deadline else { throw NATSError(.timeout, "\(what()) within \(within)") }
        try await Task.sleep(for: .milliseconds(10))
    }
}

@Suite("Client concurrency: publishers never block the task pool; iterators never lose messages")
struct NATSClientConcurrencyTests {
    @Test("publishers in tasks suspend while the server does not read, more of them than the pool has threads, and finish once it does")
    func backpressureSuspends() async throws {
        let server = try await NATSServer.start()
        let client = try await connect(server) { $0.writeHighWaterMark = 64 * 1024 }
        let payload = ByteBuffer(repeating: 7, count: 4096)
        // Enough for the kernel's socket buffers to fill while the server is stopped.
        let perPublisher = 4096
        let publishers = 8
        server.freeze()
        defer { server.thaw() }
        let running = (0..<publishers).map { _ in
            Task {
                for _ in 0..<perPublisher {
                    try await client.publishWithBackpressure("load", payload: payload)
                }
            }
        }
        try await waitFor("publishers waiting for the socket") {
            client.lock.withLock { client.spaceWaiters.count } == publishers
        }
        // Every publisher is parked, yet the pool still runs new work: no thread is held.
        let ran = try await withDeadline(.seconds(10), "a task while the publishers wait") {
            await Task.detached { 42 }.value
        }
        #expect(ran == 42)
        server.thaw()
        for publisher in running { try await publisher.value }
        try await client.flush(timeout: .seconds(30))
        #expect(client.statistics.outMessages == publishers * perPublisher)
        await client.close()
        await server.stop()
    }

    @Test("a plain publish from a task does not block on a full socket (it buffers); waitUntilWritable then suspends until it drains")
    func syncPublishInTaskDoesNotBlock() async throws {
        let server = try await NATSServer.start()
        let client = try await connect(server) { $0.writeHighWaterMark = 64 * 1024 }
        let payload = ByteBuffer(repeating: 1, count: 4096)
        server.freeze()
        defer { server.thaw() }
        let published = try await withDeadline(.seconds(10), "publishing 32 MiB to a stopped server from a task") {
            for _ in 0..<8192 { try client.publish("load", payload: payload) }
            return true
        }
        #expect(published)
        let waiting = Task { await client.waitUntilWritable() }
        try await waitFor("waitUntilWritable parked") { client.lock.withLock { client.spaceWaiters.count } == 1 }
        server.thaw()
        await waiting.value
        try await client.flush(timeout: .seconds(30))
        await client.close()
        await server.stop()
    }

    @Test("closing the client resumes publishers waiting for space; they see the close on their next publish")
    func closeResumesWaiters() async throws {
        let server = try await NATSServer.start()
        let client = try await connect(server) { $0.writeHighWaterMark = 64 * 1024 }
        let payload = ByteBuffer(repeating: 2, count: 4096)
        server.freeze()
        defer { server.thaw() }
        let publisher = Task {
            for _ in 0..<100_000 { try await client.publishWithBackpressure("load", payload: payload) }
        }
        try await waitFor("the publisher waiting for the socket") { client.lock.withLock { client.spaceWaiters.count } == 1 }
        await client.close()
        await #expect(throws: NATSError.self) { try await publisher.value }
        server.thaw()
        await server.stop()
    }

    @Test("an iterator that stops early leaves the messages it had taken to the next one, in order")
    func iteratorBreakKeepsBatch() async throws {
        let server = try await NATSServer.start()
        let client = try await connect(server)
        let subscription = try client.subscribe("batch")
        try await client.flush()
        for i in 0..<10 { try client.publish("batch", "\(i)") }
        try await client.flush()
        try await waitFor("10 messages queued") { subscription.pendingMessages == 10 }
        var first: [String] = []
        for try await message in subscription {
            first.append(message.string)
            if first.count == 3 { break }
        }
        #expect(first == ["0", "1", "2"])
        // The first loop took all ten in one batch; the seven it did not yield are queued again.
        #expect(subscription.pendingMessages == 7)
        try client.publish("batch", "10")
        try await client.flush()
        let rest = try await collect(subscription, count: 8)
        #expect(rest.map(\.string) == (3...10).map(String.init))
        await client.close()
        await server.stop()
    }

    @Test("messages an iterator held are discarded, not put back, once the subscription was unsubscribed")
    func iteratorBreakAfterUnsubscribe() async throws {
        let server = try await NATSServer.start()
        let client = try await connect(server)
        let subscription = try client.subscribe("gone")
        try await client.flush()
        for i in 0..<5 { try client.publish("gone", "\(i)") }
        try await client.flush()
        try await waitFor("5 messages queued") { subscription.pendingMessages == 5 }
        for try await _ in subscription {
            try subscription.unsubscribe()
            break
        }
        #expect(subscription.pendingMessages == 0)
        var iterator = subscription.makeAsyncIterator()
        #expect(try await iterator.next() == nil)
        await client.close()
        await server.stop()
    }
}

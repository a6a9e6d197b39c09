import NATS
import NATSTestSupport
import NIOCore
import NKeys
import Testing

/// Connects a client with short reconnect waits, so tests spend their time on behaviour, not backoff.
func connect(_ server: NATSServer, configure: (inout NATSClientOptions) -> Void = { _ in }) async throws -> NATSClient {
    var options = try NATSClientOptions(url: server.url)
    options.reconnectWaitInitial = .milliseconds(20)
    options.reconnectWaitMax = .milliseconds(200)
    options.maxReconnectAttempts = -1
    configure(&options)
    return try await NATSClient.connect(options)
}

/// Runs `body`, failing with a timeout naming `what` if it does not finish `within`.
func withDeadline<T: Sendable>(
    _ within: Duration, _ what: @autoclosure () -> String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let result = try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: within)
            return nil
        }
        let first = try await group.next() ?? nil
        group.cancelAll()
        return first
    }
    guard let result else { throw NATSError(.timeout, "\(what()) within \(within)") }
    return result
}

/// Collects up to `count` messages, failing the test if they do not arrive in time.
func collect(_ subscription: NATSSubscription, count: Int, within: Duration = .seconds(10)) async throws -> [NATSMessage] {
    try await withDeadline(within, "only part of \(count) messages arrived on \(subscription.subject)") {
        var messages: [NATSMessage] = []
        for try await message in subscription {
            messages.append(message)
            if messages.count == count { break }
        }
        return messages
    }
}

func expectNATSError<T>(_ code: NATSError.Code, _ body: () async throws -> T) async {
    do {
        _ = try await body()
        Issue.record("expected NATSError \(code)")
    } catch let error as NATSError {
        #expect(error.code == code, "got \(error)")
    } catch {
        Issue.record("expected NATSError \(code), got \(error)")
    }
}

@Suite("Client against nats-server")
struct NATSClientIntegrationTests {
    @Test("publish and subscribe with reply subjects and multi-value headers")
    func pubSub() async throws {
        let server = try await NATSServer.start()
        let client = try await connect(server)
        let subscription = try client.subscribe("orders.*")
        try await client.flush()
        var headers = NATSHeaders()
        headers.append("1", for: "X-Trace")
        headers.append("2", for: "X-Trace")
        try client.publish("orders.new", "first", replyTo: "answers.here", headers: headers)
        try client.publish("orders.old", "second")
        try client.publish("other.subject", "ignored")
        let messages = try await collect(subscription, count: 2)
        #expect(messages.map(\.string) == ["first", "second"])
        #expect(messages[0].subject == "orders.new")
        #expect(messages[0].replyTo == "answers.here")
        #expect(messages[0].headers?.values(for: "X-Trace") == ["1", "2"])
        #expect(messages[1].headers == nil)
        let stats = client.statistics
        #expect(stats.outMessages == 3)
        #expect(stats.inMessages == 2)
        await client.close()
        await server.stop()
    }

    @Test("queue group members share the messages, each delivered once")
    func queueGroups() async throws {
        let server = try await NATSServer.start()
        let client = try await connect(server)
        let a = try client.subscribe("work", queue: "workers")
        let b = try client.subscribe("work", queue: "workers")
        try await client.flush()
        for i in 0..<200 { try client.publish("work", "\(i)") }
        try await client.flush()
        try await a.drain()
        try await b.drain()
        var seen: [String] = []
        for try await m in a { seen.append(m.string) }
        let fromA = seen.count
        for try await m in b { seen.append(m.string) }
        #expect(seen.count == 200)
        #expect(Set(seen).count == 200)
        #expect(fromA > 0 && fromA < 200, "both members should get a share")
        await client.close()
        await server.stop()
    }

    @Test("request/reply, no responders as its own error, and timeout")
    func requestReply() async throws {
        let server = try await NATSServer.start()
        let responder = try await connect(server)
        try responder.subscribe("echo") { message in
            if let reply = message.replyTo { try? responder.publish(reply, payload: message.payload) }
        }
        _ = try responder.subscribe("silent")
        try await responder.flush()
        let client = try await connect(server)
        let answers = try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<50 {
                group.addTask { try await client.request("echo", "ping \(i)").string }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(answers == Set((0..<50).map { "ping \($0)" }))
        await expectNATSError(.noResponders) { try await client.request("nobody.home", "x") }
        await expectNATSError(.timeout) { try await client.request("silent", "x", timeout: .milliseconds(200)) }
        await client.close()
        await responder.close()
        await server.stop()
    }

    @Test("unsubscribe(after:) delivers exactly that many, then ends the sequence")
    func autoUnsubscribe() async throws {
        let server = try await NATSServer.start()
        let client = try await connect(server)
        let subscription = try client.subscribe("ticks")
        try subscription.unsubscribe(after: 5)
        try await client.flush()
        for i in 0..<10 { try client.publish("ticks", "\(i)") }
        try await client.flush()
        var received: [String] = []
        for try await message in subscription { received.append(message.string) }
        #expect(received == ["0", "1", "2", "3", "4"])
        #expect(!subscription.isActive)
        await client.close()
        await server.stop()
    }

    @Test("drain delivers what was published before it, then refuses new publishes")
    func drain() async throws {
        let server = try await NATSServer.start()
        let subscriberClient = try await connect(server)
        let subscription = try subscriberClient.subscribe("d.>")
        try await subscriberClient.flush()
        let publisher = try await connect(server)
        for i in 0..<1000 { try publisher.publish("d.x", "\(i)") }
        try await publisher.drain()
        await expectNATSError(.connectionClosed) { try publisher.publish("d.x", "late") }
        try await subscriberClient.flush()
        try await subscriberClient.drain()
        var count = 0
        for try await _ in subscription { count += 1 }
        #expect(count == 1000)
        await server.stop()
    }

    @Test("invalid subjects and queue names throw before anything is written")
    func validation() async throws {
        let server = try await NATSServer.start()
        let client = try await connect(server)
        for bad in ["", "a b", "a\r\nPUB x 1", "a..b", "a.*", "a.>", "x\t"] {
            await expectNATSError(.invalidSubject) { try client.publish(bad, "x") }
        }
        for bad in ["a.>.b", "a*", "", "a b"] {
            await expectNATSError(.invalidSubject) { try client.subscribe(bad) }
        }
        await expectNATSError(.invalidQueue) { try client.subscribe("ok", queue: "bad queue") }
        await expectNATSError(.invalidSubject) { try client.publish("ok", "x", replyTo: "bad reply") }
        try await client.flush()
        #expect(client.statistics.outMessages == 0)
        #expect(client.isConnected)
        await client.close()
        await server.stop()
    }

    @Test("payloads over the server's max_payload are refused locally")
    func maxPayload() async throws {
        let server = try await NATSServer.start(.init(maxPayload: 1024))
        let client = try await connect(server)
        #expect(client.serverInfo?.maxPayload == 1024)
        let subscription = try client.subscribe("big")
        try await client.flush()
        await expectNATSError(.payloadTooLarge) {
            try client.publish("big", payload: ByteBuffer(repeating: 1, count: 1025))
        }
        try client.publish("big", payload: ByteBuffer(repeating: 1, count: 1024))
        let messages = try await collect(subscription, count: 1)
        #expect(messages[0].payload.readableBytes == 1024)
        await client.close()
        await server.stop()
    }

    @Test("a slow consumer drops over its pending limits, reports it, and stays bounded")
    func slowConsumer() async throws {
        let server = try await NATSServer.start()
        let client = try await connect(server)
        let subscription = try client.subscribe("fast", pendingLimits: NATSPendingLimits(messages: 10, bytes: 1 << 20))
        try await client.flush()
        for i in 0..<100 { try client.publish("fast", "\(i)") }
        try await client.flush()
        #expect(subscription.pendingMessages == 10)
        #expect(subscription.droppedMessages == 90)
        #expect(client.statistics.droppedMessages == 90)
        var sawEvent = false
        for await event in client.events {
            if case .slowConsumer(_, let subject) = event, subject == "fast" {
                sawEvent = true
                break
            }
        }
        #expect(sawEvent)
        let kept = try await collect(subscription, count: 10)
        #expect(kept.map(\.string) == (0..<10).map(String.init))
        await client.close()
        await server.stop()
    }

    @Test("permission violations fail the subscription or request concerned, and the connection stays up")
    func permissionsViolation() async throws {
        let limited = Permissions(publishAllow: ["allowed.>", "_INBOX.>"], subscribeAllow: ["allowed.>", "_INBOX.>"])
        let server = try await NATSServer.start(.init(users: [.init(user: "app", password: "secret", permissions: limited)]))
        let client = try await connect(server) { $0.authentication = .userPassword(user: "app", password: "secret") }
        let denied = try client.subscribe("denied.x")
        do {
            for try await _ in denied {}
            Issue.record("a denied subscription must end with an error")
        } catch let error as NATSError {
            #expect(error.code == .permissionsViolation)
        }
        await expectNATSError(.permissionsViolation) { try await client.request("denied.service", "x", timeout: .seconds(5)) }
        let allowed = try client.subscribe("allowed.y")
        try await client.flush()
        try client.publish("allowed.y", "still up")
        #expect(try await collect(allowed, count: 1)[0].string == "still up")
        #expect(client.isConnected)
        await client.close()
        await server.stop()
    }

    @Test("a custom inbox prefix lets a user limited to xy.> do request/reply")
    func inboxPrefix() async throws {
        let onlyXY = Permissions(publishAllow: ["xy.>"], subscribeAllow: ["xy.>"])
        let server = try await NATSServer.start(.init(users: [.init(user: "svc", password: "pw", permissions: onlyXY)]))
        let responder = try await connect(server) { $0.authentication = .userPassword(user: "svc", password: "pw") }
        try responder.subscribe("xy.ctl.echo") { message in
            if let reply = message.replyTo { try? responder.publish(reply, payload: message.payload) }
        }
        try await responder.flush()
        let client = try await connect(server) {
            $0.authentication = .userPassword(user: "svc", password: "pw")
            $0.inboxPrefix = "xy.inbox"
        }
        #expect(try await client.request("xy.ctl.echo", "hi").string == "hi")
        await client.close()
        await responder.close()
        await server.stop()
    }

    @Test("messages published while the server is down are buffered, and subscriptions resume after restart")
    func reconnect() async throws {
        let server = try await NATSServer.start()
        let client = try await connect(server)
        let subscription = try client.subscribe("r.>")
        let queueMember = try client.subscribe("r.q", queue: "group")
        try await client.flush()
        try client.publish("r.before", "0")
        try await client.flush()
        await server.stop()
        // Once the client has noticed the loss, publishes go to the reconnect buffer (before that,
        // they would go to a dead socket: a busy machine can take a moment to deliver the EOF).
        let noticed = ContinuousClock.now + .seconds(10)
        while client.isConnected, ContinuousClock.now < noticed { try await Task.sleep(for: .milliseconds(10)) }
        for i in 1...100 { try client.publish("r.during", "\(i)") }
        try await server.restart()
        try await client.flush(timeout: .seconds(10))
        try client.publish("r.after", "101")
        try client.publish("r.q", "queue")
        let messages = try await collect(subscription, count: 103)
        let values = messages.filter { $0.subject != "r.q" }.map { Int($0.string)! }
        #expect(values == Array(0...101))
        #expect(try await collect(queueMember, count: 1)[0].string == "queue")
        #expect(client.statistics.reconnects >= 1)
        var kinds: [String] = []
        for await event in client.events {
            switch event {
            case .connected: kinds.append("connected")
            case .disconnected: kinds.append("disconnected")
            case .reconnected:
                kinds.append("reconnected")
            default: break
            }
            if kinds.last == "reconnected" { break }
        }
        #expect(kinds == ["connected", "disconnected", "reconnected"])
        await client.close()
        await server.stop()
    }

    @Test("the reconnect buffer is bounded: publishing fails with a clear error once it is full")
    func reconnectBufferBound() async throws {
        let server = try await NATSServer.start()
        let client = try await connect(server) { $0.reconnectBufferSize = 4096 }
        await server.stop()
        // Wait until the client has noticed the loss.
        for await event in client.events {
            if case .disconnected = event { break }
        }
        var accepted = 0
        do {
            for _ in 0..<1000 {
                try client.publish("x", payload: ByteBuffer(repeating: 0, count: 100))
                accepted += 1
            }
            Issue.record("publishing past the reconnect buffer must fail")
        } catch let error as NATSError {
            #expect(error.code == .reconnectBufferFull)
        }
        #expect(accepted > 0 && accepted < 41)
        await client.close()
    }

    @Test("closing ends subscriptions and fails new operations")
    func close() async throws {
        let server = try await NATSServer.start()
        let client = try await connect(server)
        let subscription = try client.subscribe("c")
        await client.close()
        var count = 0
        for try await _ in subscription { count += 1 }
        #expect(count == 0)
        await expectNATSError(.connectionClosed) { try client.publish("c", "x") }
        await expectNATSError(.connectionClosed) { try await client.flush() }
        await server.stop()
    }

    @Test("connecting to a port with no server fails with connectFailed")
    func connectFailure() async throws {
        let server = try await NATSServer.start()
        let port = server.port
        await server.stop()
        await expectNATSError(.connectFailed) {
            var options = try NATSClientOptions(url: "nats://127.0.0.1:\(port)")
            options.connectTimeout = .milliseconds(500)
            return try await NATSClient.connect(options)
        }
    }
}

import Foundation
import NATS
import NATSTestSupport
import NIOCore
import Testing

/// Runs `body` and checks it fails with a JetStream error of `kind` (and `errorCode` when given).
func expectJetStreamError<T>(
    _ kind: JetStreamError.Kind, errorCode: JetStreamError.ErrorCode? = nil, _ body: () async throws -> T
) async {
    do {
        _ = try await body()
        Issue.record("expected JetStreamError \(kind)")
    } catch let error as JetStreamError {
        #expect(error.kind == kind, "got \(error)")
        if let errorCode { #expect(error.errorCode == errorCode, "got \(error)") }
    } catch {
        Issue.record("expected JetStreamError \(kind), got \(error)")
    }
}

/// Reads `count` messages from an ordered consumer, failing if they do not come in time.
func read(_ consumer: JetStreamOrderedConsumer, count: Int, within: Duration = .seconds(30)) async throws -> [JetStreamMessage] {
    try await withDeadline(within, "ordered consumer delivered fewer than \(count)") {
        var messages: [JetStreamMessage] = []
        var iterator = consumer.makeAsyncIterator()
        while messages.count < count, let message = try await iterator.next() { messages.append(message) }
        return messages
    }
}

@Suite("JetStream against nats-server -js")
struct JetStreamTests {
    @Test("stream lifecycle: create, info, update, list, purge, delete; API errors carry code and err_code")
    func streamLifecycle() async throws {
        let server = try await NATSServer.start(.init(jetStream: true))
        let client = try await connect(server)
        let js = client.jetStream()

        var config = StreamConfiguration(name: "ORDERS", subjects: ["orders.>"])
        config.maxMessagesPerSubject = 10
        config.maxAge = .seconds(3600)
        config.storage = .memory
        config.duplicateWindow = .seconds(30)
        config.allowDirect = true
        let created = try await js.createStream(config)
        #expect(created.config.subjects == ["orders.>"])
        #expect(created.config.maxMessagesPerSubject == 10)
        #expect(created.config.maxAge == .seconds(3600))
        #expect(created.config.storage == .memory)
        #expect(created.config.allowDirect)
        #expect(created.config.maxMessages == -1)
        #expect(created.state.messages == 0)

        var other = config
        other.subjects = ["other.>"]
        await expectJetStreamError(.api, errorCode: .streamNameInUse) { try await js.createStream(other) }

        config.maxMessages = 1000
        config.subjects = ["orders.>", "refunds.>"]
        let updated = try await js.updateStream(config)
        #expect(updated.config.maxMessages == 1000)
        #expect(updated.config.subjects.count == 2)

        for i in 0..<5 { _ = try await js.publish("orders.\(i % 2)", "o\(i)") }
        let info = try await js.streamInfo("ORDERS")
        #expect(info.state.messages == 5)
        #expect(info.state.firstSequence == 1)
        #expect(info.state.lastSequence == 5)

        _ = try await js.createStream(StreamConfiguration(name: "AUDIT", subjects: ["audit.>"]))
        #expect(try await js.streamNames().sorted() == ["AUDIT", "ORDERS"])
        #expect(try await js.streamNames(subject: "audit.x") == ["AUDIT"])
        #expect(try await js.streams().map(\.config.name).sorted() == ["AUDIT", "ORDERS"])

        #expect(try await js.purgeStream("ORDERS", subject: "orders.0") == 3)
        #expect(try await js.streamInfo("ORDERS").state.messages == 2)
        #expect(try await js.purgeStream("ORDERS") == 2)

        try await js.deleteStream("ORDERS")
        do {
            _ = try await js.streamInfo("ORDERS")
            Issue.record("info of a deleted stream succeeded")
        } catch let error as JetStreamError {
            #expect(error.kind == .api)
            #expect(error.status == 404)
            #expect(error.errorCode == .streamNotFound)
        }
        await expectJetStreamError(.invalidName) { try await js.streamInfo("bad.name") }
        // createOrUpdate makes the stream when absent and changes it when present.
        _ = try await js.createOrUpdateStream(StreamConfiguration(name: "ORDERS", subjects: ["orders.>"]))
        var again = StreamConfiguration(name: "ORDERS", subjects: ["orders.>"])
        again.maxBytes = 1 << 20
        #expect(try await js.createOrUpdateStream(again).config.maxBytes == 1 << 20)
        await client.close()
        await server.stop()
    }

    @Test("JetStream not enabled: API calls and publishes say so")
    func notEnabled() async throws {
        let server = try await NATSServer.start()
        let client = try await connect(server)
        var options = JetStreamOptions()
        options.publishRetries = 1
        options.publishRetryWait = .milliseconds(20)
        let js = client.jetStream(options)
        await expectJetStreamError(.notEnabled) { try await js.streamInfo("X") }
        await expectJetStreamError(.notEnabled) { try await js.publish("nowhere", "x") }
        await client.close()
        await server.stop()
    }

    @Test("publish with acknowledgement, de-duplication and expected-sequence headers")
    func publishAcks() async throws {
        let server = try await NATSServer.start(.init(jetStream: true))
        let client = try await connect(server)
        let js = client.jetStream()
        _ = try await js.createStream(StreamConfiguration(name: "EVENTS", subjects: ["ev.>"]))

        let first = try await js.publish("ev.a", "one", options: .init(messageID: "m-1"))
        #expect(first.stream == "EVENTS")
        #expect(first.sequence == 1)
        #expect(!first.duplicate)
        let repeated = try await js.publish("ev.a", "one again", options: .init(messageID: "m-1"))
        #expect(repeated.duplicate)
        #expect(repeated.sequence == 1)
        #expect(try await js.streamInfo("EVENTS").state.messages == 1)

        #expect(try await js.publish("ev.b", "two", options: .init(expectedLastSequence: 1)).sequence == 2)
        await expectJetStreamError(.api, errorCode: .streamWrongLastSequence) {
            try await js.publish("ev.b", "stale", options: .init(expectedLastSequence: 1))
        }
        #expect(try await js.publish("ev.a", "three", options: .init(expectedLastSubjectSequence: 1)).sequence == 3)
        await expectJetStreamError(.api, errorCode: .streamWrongLastSequence) {
            try await js.publish("ev.a", "stale", options: .init(expectedLastSubjectSequence: 1))
        }
        await expectJetStreamError(.api, errorCode: .streamNotMatch) {
            try await js.publish("ev.a", "x", options: .init(expectedStream: "OTHER"))
        }
        _ = try await js.publish("ev.c", "four", options: .init(messageID: "m-4"))
        await expectJetStreamError(.api, errorCode: .streamWrongLastMsgID) {
            try await js.publish("ev.c", "five", options: .init(expectedLastMessageID: "m-3"))
        }
        #expect(try await js.publish("ev.c", "five", options: .init(expectedLastMessageID: "m-4")).sequence == 5)

        // A window of asynchronous publishes: every ack arrives, in sequence order.
        var futures: [JetStreamPendingAck] = []
        for i in 0..<500 { futures.append(js.publishAsync("ev.bulk", payload: ByteBuffer(string: "b\(i)"))) }
        var sequences: [UInt64] = []
        for future in futures { sequences.append(try await future.get().sequence) }
        #expect(sequences == Array(6...505))
        await client.close()
        await server.stop()
    }

    @Test("get by sequence and last message for a subject, direct and through the API")
    func readStored() async throws {
        let server = try await NATSServer.start(.init(jetStream: true))
        let client = try await connect(server)
        let js = client.jetStream()
        var direct = StreamConfiguration(name: "TICKS", subjects: ["tick.>"])
        direct.allowDirect = true
        _ = try await js.createStream(direct)
        _ = try await js.createStream(StreamConfiguration(name: "BARS", subjects: ["bar.>"]))
        for stream in ["tick", "bar"] {
            _ = try await js.publish("\(stream).AAPL", "a1", headers: ["Xy-Schema": "test"])
            _ = try await js.publish("\(stream).MSFT", "m1")
            _ = try await js.publish("\(stream).AAPL", "a2", headers: ["Xy-Schema": "test"])
        }
        for (stream, prefix) in [("TICKS", "tick"), ("BARS", "bar")] {
            for useDirect in [nil, true, false] as [Bool?] where !(stream == "BARS" && useDirect == true) {
                let last = try await js.getLastMessage(stream: stream, subject: "\(prefix).AAPL", direct: useDirect)
                #expect(String(buffer: last.payload) == "a2")
                #expect(last.sequence == 3)
                #expect(last.subject == "\(prefix).AAPL")
                #expect(last.headers?["Xy-Schema"] == "test")
                #expect(last.headers?[JetStreamHeader.sequence] == nil)
                #expect(last.timeNanoseconds > 1_700_000_000_000_000_000)
                let second = try await js.getMessage(stream: stream, sequence: 2, direct: useDirect)
                #expect(second.subject == "\(prefix).MSFT")
                #expect(String(buffer: second.payload) == "m1")
                #expect(second.headers == nil)
                await expectJetStreamError(.api, errorCode: .noMessageFound) {
                    try await js.getLastMessage(stream: stream, subject: "\(prefix).NONE", direct: useDirect)
                }
                await expectJetStreamError(.api, errorCode: .noMessageFound) {
                    try await js.getMessage(stream: stream, sequence: 99, direct: useDirect)
                }
            }
        }
        await client.close()
        await server.stop()
    }

    @Test("pull consumer: fetch in batches, ack, nak redelivers, term stops, empty fetch waits")
    func pullConsumer() async throws {
        let server = try await NATSServer.start(.init(jetStream: true))
        let client = try await connect(server)
        let js = client.jetStream()
        _ = try await js.createStream(StreamConfiguration(name: "JOBS", subjects: ["jobs.>"]))
        for i in 1...6 { _ = try await js.publish("jobs.x", "job\(i)") }
        var config = ConsumerConfiguration(durableName: "workers")
        config.ackWait = .seconds(30)
        let info = try await js.createConsumer(stream: "JOBS", config)
        #expect(info.name == "workers")
        #expect(info.pending == 6)

        let first = try await js.fetch(stream: "JOBS", consumer: "workers", batch: 3, expires: .seconds(2))
        #expect(first.map { String(buffer: $0.payload) } == ["job1", "job2", "job3"])
        #expect(first.map(\.metadata.streamSequence) == [1, 2, 3])
        #expect(first[0].metadata.deliveries == 1)
        #expect(first[0].metadata.stream == "JOBS")
        #expect(first[0].metadata.consumer == "workers")
        try first[0].ack()
        try await first[1].ackSync()
        try first[2].nak()

        // The server handles acks apart from pull requests: the redelivery may follow the first fetch.
        var second: [JetStreamMessage] = []
        for _ in 0..<3 where second.count < 4 {
            second += try await js.fetch(stream: "JOBS", consumer: "workers", batch: 10, expires: .seconds(2))
        }
        let payloads = second.map { String(buffer: $0.payload) }
        #expect(payloads.sorted() == ["job3", "job4", "job5", "job6"])
        let redelivered = try #require(second.first { String(buffer: $0.payload) == "job3" })
        #expect(redelivered.metadata.deliveries == 2)
        try redelivered.term()
        for message in second where message.metadata.streamSequence != 3 {
            try message.inProgress()
            try message.ack()
        }
        try await client.flush()
        let afterwards = try await js.consumerInfo(stream: "JOBS", name: "workers")
        #expect(afterwards.ackPending == 0)
        #expect(afterwards.pending == 0)

        let clock = ContinuousClock()
        let started = clock.now
        let empty = try await js.fetch(stream: "JOBS", consumer: "workers", batch: 5, expires: .milliseconds(700))
        #expect(empty.isEmpty)
        #expect(clock.now - started >= .milliseconds(500))

        // A message published while a fetch waits is delivered to it.
        async let waiting = js.fetch(stream: "JOBS", consumer: "workers", batch: 1, expires: .seconds(5))
        try await Task.sleep(for: .milliseconds(300))
        _ = try await js.publish("jobs.x", "late")
        #expect(try await waiting.map { String(buffer: $0.payload) } == ["late"])

        try await js.deleteConsumer(stream: "JOBS", name: "workers")
        await expectJetStreamError(.api, errorCode: .consumerNotFound) {
            try await js.consumerInfo(stream: "JOBS", name: "workers")
        }
        await client.close()
        await server.stop()
    }

    @Test("ordered consumer: replays then follows live messages, filtered, in order")
    func orderedConsumer() async throws {
        let server = try await NATSServer.start(.init(jetStream: true))
        let client = try await connect(server)
        let js = client.jetStream()
        _ = try await js.createStream(StreamConfiguration(name: "FEED", subjects: ["feed.>"]))
        for i in 1...300 { _ = js.publishAsync("feed.\(i % 3)", payload: ByteBuffer(string: "\(i)")) }
        _ = try await js.publish("feed.0", "sync")
        let consumer = try await js.orderedConsumer(stream: "FEED", OrderedConsumerConfiguration(filterSubject: "feed.1"))
        #expect(consumer.initialPending == 100)
        let replayed = try await read(consumer, count: 100)
        #expect(replayed.map { Int(String(buffer: $0.payload))! } == Array(stride(from: 1, through: 298, by: 3)))
        #expect(replayed.last?.metadata.pending == 0)
        for i in 1...5 { _ = try await js.publish("feed.1", "live\(i)") }
        let live = try await read(consumer, count: 5)
        #expect(live.map { String(buffer: $0.payload) } == ["live1", "live2", "live3", "live4", "live5"])
        consumer.stop()
        await client.close()
        await server.stop()
    }

    @Test("ordered consumer by start time: only what was stored at or after it; the policy survives JSON")
    func orderedConsumerByStartTime() async throws {
        let server = try await NATSServer.start(.init(jetStream: true))
        let client = try await connect(server)
        let js = client.jetStream()
        _ = try await js.createStream(StreamConfiguration(name: "FEED", subjects: ["feed.>"]))
        let early = try await js.publish("feed.1", "early")
        let stored = try await js.getMessage(stream: "FEED", sequence: early.sequence)
        // The next millisecond after the first message: what is stored once the clock is past it counts.
        let boundary = (stored.timeNanoseconds / 1_000_000 + 1) * 1_000_000
        try await withDeadline(.seconds(5), "the clock did not pass the boundary") {
            while Int64(Date().timeIntervalSince1970 * 1e9) <= boundary + 1_000_000 { try await Task.sleep(for: .milliseconds(1)) }
        }
        for text in ["b", "c"] {
            _ = try await js.publish("feed.1", text)
            _ = try await js.publish("feed.2", "other")
        }
        let consumer = try await js.orderedConsumer(
            stream: "FEED", OrderedConsumerConfiguration(filterSubject: "feed.1", deliverPolicy: .byStartTime(nanoseconds: boundary)))
        #expect(consumer.initialPending == 2)
        #expect(try await read(consumer, count: 2).map { String(buffer: $0.payload) } == ["b", "c"])
        consumer.stop()

        var config = ConsumerConfiguration()
        config.deliverPolicy = .byStartTime(nanoseconds: 1_767_323_045_678_000_000)
        let decoded = try JSONDecoder().decode(ConsumerConfiguration.self, from: JSONEncoder().encode(config))
        #expect(decoded.deliverPolicy == .byStartTime(nanoseconds: 1_767_323_045_678_000_000))
        await client.close()
        await server.stop()
    }

    @Test("ordered consumer survives a server restart mid-stream: no message lost or repeated")
    func orderedConsumerAcrossRestart() async throws {
        let server = try await NATSServer.start(.init(jetStream: true))
        let client = try await connect(server)
        let js = client.jetStream()
        _ = try await js.createStream(StreamConfiguration(name: "REPLAY", subjects: ["replay.>"]))
        for i in 1...500 { _ = js.publishAsync("replay.x", payload: ByteBuffer(string: "\(i)")) }
        _ = try await js.publish("replay.x", "501")

        var configuration = OrderedConsumerConfiguration()
        configuration.heartbeat = .milliseconds(500)
        let consumer = try await js.orderedConsumer(stream: "REPLAY", configuration)
        var sequences = try await read(consumer, count: 250).map(\.metadata.streamSequence)

        try await server.restart()
        // The publisher reconnects to the restarted server and keeps writing to the (file) stream.
        var publishedAfter = 0
        let deadline = ContinuousClock.now + .seconds(30)
        while publishedAfter < 200, ContinuousClock.now < deadline {
            do {
                _ = try await js.publish("replay.x", "\(502 + publishedAfter)")
                publishedAfter += 1
            } catch {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        #expect(publishedAfter == 200)
        sequences += try await read(consumer, count: 701 - 250, within: .seconds(60)).map(\.metadata.streamSequence)
        #expect(sequences == Array(1...701))
        #expect(consumer.resets >= 1)
        consumer.stop()
        await client.close()
        await server.stop()
    }
}

@Suite("JetStream client rules as plain values")
struct JetStreamUnitTests {
    @Test("ack subjects parse in both forms; other subjects are not acknowledgeable")
    func metadata() throws {
        let old = try #require(JetStreamMessage.Metadata(replySubject: "$JS.ACK.ORDERS.workers.2.41.7.1700000000123456789.9"))
        #expect(old.stream == "ORDERS")
        #expect(old.consumer == "workers")
        #expect(old.deliveries == 2)
        #expect(old.streamSequence == 41)
        #expect(old.consumerSequence == 7)
        #expect(old.timeNanoseconds == 1_700_000_000_123_456_789)
        #expect(old.pending == 9)
        #expect(old.domain == nil)
        let new = try #require(JetStreamMessage.Metadata(replySubject: "$JS.ACK.hub.ACCHASH.ORDERS.workers.1.5.5.1700000000000000000.0.rnd"))
        #expect(new.domain == "hub")
        #expect(new.stream == "ORDERS")
        #expect(new.streamSequence == 5)
        #expect(JetStreamMessage.Metadata(replySubject: "_INBOX.abc") == nil)
        #expect(JetStreamMessage.Metadata(replySubject: "$JS.ACK.S.C.x.1.1.1.0") == nil)
        #expect(JetStreamMessage.Metadata(replySubject: "$JS.ACK.S.C.1.1.1.1") == nil)
    }

    @Test("names and keys follow the NATS rules")
    func names() {
        #expect(KeyValueNames.isValidBucket("xy_feature-flags2"))
        #expect(!KeyValueNames.isValidBucket("xy.flags"))
        #expect(!KeyValueNames.isValidBucket(""))
        #expect(!KeyValueNames.isValidBucket("a b"))
        #expect(KeyValueNames.isValidKey("user/42=x_y-z.sub"))
        #expect(!KeyValueNames.isValidKey(".lead"))
        #expect(!KeyValueNames.isValidKey("trail."))
        #expect(!KeyValueNames.isValidKey("a..b"))
        #expect(!KeyValueNames.isValidKey("a*"))
        #expect(!KeyValueNames.isValidKey("*"))
        #expect(!KeyValueNames.isValidKey("sp ace"))
        #expect(KeyValueNames.isValidKey("user.*.x", wildcards: true))
        #expect(KeyValueNames.isValidKey(">", wildcards: true))
        #expect(!KeyValueNames.isValidKey(">.x", wildcards: true))
        #expect(!KeyValueNames.isValidKey("a*b", wildcards: true))
    }

    @Test("options resolve the API prefix from a domain")
    func prefix() {
        var options = JetStreamOptions()
        #expect(options.resolvedPrefix == "$JS.API")
        options.apiPrefix = "acct.js.API."
        #expect(options.resolvedPrefix == "acct.js.API")
        options.domain = "hub"
        #expect(options.resolvedPrefix == "$JS.hub.API")
    }
}

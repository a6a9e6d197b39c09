import Foundation
import NATS
import NATSTestSupport
import NIOCore
import Testing

/// Reads watch events until `count` arrived, failing if they do not come in time.
func events(_ watcher: KeyValueWatcher, count: Int, within: Duration = .seconds(20)) async throws -> [KeyValueWatchEvent] {
    try await withDeadline(within, "watcher delivered fewer than \(count) events") {
        var events: [KeyValueWatchEvent] = []
        var iterator = watcher.makeAsyncIterator()
        while events.count < count, let event = try await iterator.next() { events.append(event) }
        return events
    }
}

/// A compact text form of watch events, so a test compares whole sequences at once.
func describe(_ events: [KeyValueWatchEvent]) -> [String] {
    events.map { event in
        switch event {
        case .initialValuesDone: "--"
        case .entry(let entry):
            switch entry.operation {
            case .put: "\(entry.key)=\(entry.string)"
            case .delete: "\(entry.key) deleted"
            case .purge: "\(entry.key) purged"
            }
        }
    }
}

@Suite("Key-value buckets against nats-server -js")
struct KeyValueTests {
    @Test("put, get, create, update conflict, delete, purge, keys, history")
    func operations() async throws {
        let server = try await NATSServer.start(.init(jetStream: true))
        let client = try await connect(server)
        let js = client.jetStream()
        var config = KeyValueConfiguration(bucket: "xy_sessions")
        config.history = 5
        let kv = try await js.createKeyValue(config)
        let stream = try await js.streamInfo("KV_xy_sessions")
        #expect(stream.config.subjects == ["$KV.xy_sessions.>"])
        #expect(stream.config.maxMessagesPerSubject == 5)
        #expect(stream.config.allowRollup && stream.config.denyDelete && stream.config.allowDirect)

        #expect(try await kv.get("user.1") == nil)
        let r1 = try await kv.put("user.1", "alice")
        #expect(try await kv.get("user.1")?.string == "alice")
        #expect(try await kv.get("user.1")?.revision == r1)

        let r2 = try await kv.update("user.1", ByteBuffer(string: "alice v2"), revision: r1)
        #expect(r2 > r1)
        await expectJetStreamError(.api, errorCode: .streamWrongLastSequence) {
            try await kv.update("user.1", ByteBuffer(string: "lost update"), revision: r1)
        }
        #expect(try await kv.get("user.1")?.string == "alice v2")
        #expect(try await kv.get("user.1", revision: r1)?.string == "alice")

        await expectJetStreamError(.keyExists) { try await kv.create("user.1", ByteBuffer(string: "again")) }
        let r3 = try await kv.create("user.2", ByteBuffer(string: "bob"))
        #expect(try await kv.get("user.2")?.revision == r3)

        try await kv.delete("user.2")
        #expect(try await kv.get("user.2") == nil)
        // A deleted key counts as absent for create.
        _ = try await kv.create("user.2", ByteBuffer(string: "bob again"))
        #expect(try await kv.get("user.2")?.string == "bob again")

        _ = try await kv.put("user.3", "carol")
        #expect(try await kv.keys().sorted() == ["user.1", "user.2", "user.3"])

        let history = try await kv.history("user.2")
        #expect(history.map(\.operation) == [.put, .delete, .put])
        #expect(history.map(\.string) == ["bob", "", "bob again"])

        try await kv.purge("user.2")
        #expect(try await kv.get("user.2") == nil)
        #expect(try await kv.history("user.2").map(\.operation) == [.purge])
        #expect(try await kv.keys().sorted() == ["user.1", "user.3"])

        await expectJetStreamError(.invalidName) { try await kv.put("bad key", "x") }
        await expectJetStreamError(.invalidName) { try await js.createKeyValue(KeyValueConfiguration(bucket: "bad.bucket")) }
        await expectJetStreamError(.bucketNotFound) { try await js.keyValue("missing") }
        let reopened = try await js.keyValue("xy_sessions")
        #expect(try await reopened.get("user.3")?.string == "carol")
        try await js.deleteKeyValue("xy_sessions")
        await expectJetStreamError(.bucketNotFound) { try await js.keyValue("xy_sessions") }
        await client.close()
        await server.stop()
    }

    @Test("watch: current values, then the end-of-initial-values marker, then live updates and deletes")
    func watch() async throws {
        let server = try await NATSServer.start(.init(jetStream: true))
        let client = try await connect(server)
        let kv = try await client.jetStream().createKeyValue(KeyValueConfiguration(bucket: "xy_feature_flags"))
        _ = try await kv.put("charts", "off")
        _ = try await kv.put("charts", "on")
        _ = try await kv.put("proto", "off")
        _ = try await kv.put("other.x", "1")

        let watcher = try await kv.watch(keys: "*")
        #expect(describe(try await events(watcher, count: 3)) == ["charts=on", "proto=off", "--"])
        _ = try await kv.put("proto", "on")
        try await kv.delete("charts")
        _ = try await kv.put("other.y", "ignored by the pattern")
        _ = try await kv.put("late", "yes")
        #expect(describe(try await events(watcher, count: 3)) == ["proto=on", "charts deleted", "late=yes"])
        watcher.stop()

        let empty = try await client.jetStream().createKeyValue(KeyValueConfiguration(bucket: "empty"))
        let emptyWatcher = try await empty.watch()
        #expect(describe(try await events(emptyWatcher, count: 1)) == ["--"])
        _ = try await empty.put("first", "1")
        #expect(describe(try await events(emptyWatcher, count: 1)) == ["first=1"])
        emptyWatcher.stop()
        await client.close()
        await server.stop()
    }

    @Test("a value written by nats-py is read by xy, and one written by xy is read by nats-py")
    func natsPyInterop() async throws {
        let server = try await NATSServer.start(.init(jetStream: true))
        let written = try await PythonPeer.run(
            ["kv-put", "--server", server.url, "--bucket", "shared", "--key", "from.py", "--payload", "hello from nats-py", "--create-bucket"],
            in: server.directory
        )
        #expect(written.status == 0, "\(written.output)")
        let client = try await connect(server)
        let kv = try await client.jetStream().keyValue("shared")
        let entry = try #require(try await kv.get("from.py"))
        #expect(entry.string == "hello from nats-py")
        #expect(written.output.contains("\"revision\": \(entry.revision)"))

        let revision = try await kv.put("from.swift", "hello from xy")
        let read = try await PythonPeer.run(["kv-get", "--server", server.url, "--bucket", "shared", "--key", "from.swift"], in: server.directory)
        #expect(read.status == 0, "\(read.output)")
        let line = try #require(read.output.split(separator: "\n").first { $0.hasPrefix("{") })
        let json = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        #expect(json?["value"] as? String == "hello from xy")
        #expect((json?["revision"] as? NSNumber)?.uint64Value == revision)

        try await kv.delete("from.swift")
        let gone = try await PythonPeer.run(["kv-get", "--server", server.url, "--bucket", "shared", "--key", "from.swift"], in: server.directory)
        #expect(gone.output.contains("\"value\": null"), "\(gone.output)")
        await client.close()
        await server.stop()
    }
}

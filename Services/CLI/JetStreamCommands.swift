import ArgumentParser
import Foundation
import NATS
import NIOCore

/// `xy js`: JetStream streams and acknowledged publishes, as the `nats` CLI names them.
struct JS: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "js",
        abstract: "JetStream: manage streams, publish with acknowledgement.",
        subcommands: [Stream.self, JSPub.self]
    )

    struct Stream: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create, inspect, list and delete streams.",
            subcommands: [Add.self, Info.self, Remove.self, List.self]
        )
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a stream (or update it with --update).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Stream name.") var name: String
        @Option(help: "Subjects, comma separated (default: the stream name).") var subjects: String?
        @Option(help: "file or memory.") var storage: String = "file"
        @Option(help: "limits, interest or workqueue.") var retention: String = "limits"
        @Option(help: "old or new: what to drop at a limit.") var discard: String = "old"
        @Option(name: .customLong("max-msgs"), help: "Message limit (-1 unlimited).") var maxMessages: Int64 = -1
        @Option(name: .customLong("max-bytes"), help: "Byte limit (-1 unlimited).") var maxBytes: Int64 = -1
        @Option(name: .customLong("max-age"), help: "Age limit, e.g. 1h (0 unlimited).") var maxAge: DurationArgument = "0s"
        @Option(name: .customLong("max-msgs-per-subject"), help: "Per-subject limit (-1 unlimited).") var maxPerSubject: Int64 = -1
        @Option(help: "Replicas.") var replicas: Int = 1
        @Option(name: .customLong("dupe-window"), help: "De-duplication window (0: server default, 2m).") var dupeWindow: DurationArgument = "0s"
        @Flag(name: .customLong("allow-direct"), help: "Allow direct get from any replica.") var allowDirect = false
        @Flag(help: "Update an existing stream instead of creating one.") var update = false

        func run() async throws {
            var config = StreamConfiguration(name: name, subjects: subjects.map(splitList) ?? [name])
            config.storage = .init(rawValue: storage)
            config.retention = .init(rawValue: retention)
            config.discard = .init(rawValue: discard)
            config.maxMessages = maxMessages
            config.maxBytes = maxBytes
            config.maxAge = maxAge.amount
            config.maxMessagesPerSubject = maxPerSubject
            config.replicas = replicas
            config.duplicateWindow = dupeWindow.amount
            config.allowDirect = allowDirect
            let client = try await connection.connect(name: "xy js stream add")
            let js = client.jetStream()
            let info = update ? try await js.updateStream(config) : try await js.createStream(config)
            printStreamInfo(info)
            await client.close()
        }
    }

    struct Info: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a stream's configuration and state.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Stream name.") var name: String

        func run() async throws {
            let client = try await connection.connect(name: "xy js stream info")
            printStreamInfo(try await client.jetStream().streamInfo(name))
            await client.close()
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Delete a stream and its messages.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Stream name.") var name: String

        func run() async throws {
            let client = try await connection.connect(name: "xy js stream rm")
            try await client.jetStream().deleteStream(name)
            printLine("deleted stream \(name)")
            await client.close()
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List streams: name, subjects, messages, bytes.")
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let client = try await connection.connect(name: "xy js stream ls")
            for info in try await client.jetStream().streams().sorted(by: { $0.config.name < $1.config.name }) {
                printLine("\(info.config.name)\t\(info.config.subjects.joined(separator: ","))\t\(info.state.messages) msgs\t\(info.state.bytes) bytes")
            }
            await client.close()
        }
    }

    struct JSPub: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "pub", abstract: "Publish to a stream and print the acknowledgement.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Subject.") var subject: String
        @Argument(help: "Payload (text).") var payload: String = ""
        @Option(name: .customLong("header"), help: "Header Key:Value (repeatable).") var headers: [String] = []
        @Option(name: .customLong("msg-id"), help: "Nats-Msg-Id for de-duplication.") var messageID: String?
        @Option(name: .customLong("expect-stream"), help: "Refuse unless the subject belongs to this stream.") var expectedStream: String?
        @Option(name: .customLong("expect-last-seq"), help: "Refuse unless the stream's last sequence is this.") var expectedLastSequence: UInt64?
        @Option(name: .customLong("expect-last-subject-seq"), help: "Refuse unless the subject's last sequence is this.") var expectedLastSubjectSequence: UInt64?
        @Option(name: .customLong("expect-last-msg-id"), help: "Refuse unless the stream's last Nats-Msg-Id is this.") var expectedLastMessageID: String?

        func run() async throws {
            let client = try await connection.connect(name: "xy js pub")
            let options = JetStreamPublishOptions(
                messageID: messageID, expectedStream: expectedStream, expectedLastSequence: expectedLastSequence,
                expectedLastSubjectSequence: expectedLastSubjectSequence, expectedLastMessageID: expectedLastMessageID
            )
            let ack = try await client.jetStream().publish(subject, payload: ByteBuffer(string: payload), headers: try parseHeaders(headers), options: options)
            printLine("stored in \(ack.stream) seq \(ack.sequence)" + (ack.duplicate ? " (duplicate)" : ""))
            await client.close()
        }
    }
}

func splitList(_ text: String) -> [String] {
    text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
}

private func seconds(_ amount: TimeAmount) -> String {
    let value = Double(amount.nanoseconds) / 1e9
    return value == value.rounded() ? "\(Int64(value))s" : "\(value)s"
}

private func printStreamInfo(_ info: StreamInfo) {
    let config = info.config
    func limit(_ value: Int64) -> String { value < 0 ? "unlimited" : String(value) }
    printLine("stream \(config.name)")
    printLine("  subjects: \(config.subjects.joined(separator: ", "))")
    printLine("  storage: \(config.storage.rawValue), retention: \(config.retention.rawValue), discard: \(config.discard.rawValue), replicas: \(config.replicas)")
    printLine("  limits: msgs \(limit(config.maxMessages)), bytes \(limit(config.maxBytes)), per subject \(limit(config.maxMessagesPerSubject)), age \(config.maxAge == .zero ? "unlimited" : seconds(config.maxAge))")
    printLine("  duplicate window: \(seconds(config.duplicateWindow)), allow direct: \(config.allowDirect)")
    printLine("  state: \(info.state.messages) msgs, \(info.state.bytes) bytes, seq \(info.state.firstSequence)…\(info.state.lastSequence), \(info.state.consumerCount) consumers")
}

/// `xy kv`: key-value buckets.
struct KV: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kv",
        abstract: "Key-value buckets: add, put, get, del, watch, ls, rm.",
        subcommands: [Add.self, Put.self, Get.self, Del.self, Watch.self, Keys.self, Remove.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a bucket (or update its settings).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Bucket.") var bucket: String
        @Option(help: "Revisions kept per key (1-64).") var history: Int = 1
        @Option(help: "How long values live (0: forever).") var ttl: DurationArgument = "0s"
        @Option(help: "file or memory.") var storage: String = "file"
        @Option(help: "Replicas.") var replicas: Int = 1

        func run() async throws {
            var config = KeyValueConfiguration(bucket: bucket)
            config.history = history
            config.ttl = ttl.amount
            config.storage = .init(rawValue: storage)
            config.replicas = replicas
            let client = try await connection.connect(name: "xy kv add")
            _ = try await client.jetStream().createKeyValue(config)
            printLine("bucket \(bucket) ready (history \(history))")
            await client.close()
        }
    }

    struct Put: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set a value; prints its revision.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Bucket.") var bucket: String
        @Argument(help: "Key.") var key: String
        @Argument(help: "Value (text).") var value: String

        func run() async throws {
            let client = try await connection.connect(name: "xy kv put")
            let kv = try await client.jetStream().keyValue(bucket)
            printLine(String(try await kv.put(key, value)))
            await client.close()
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a key's value (exit 1 when it has none).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Bucket.") var bucket: String
        @Argument(help: "Key.") var key: String
        @Flag(help: "Print the revision before the value.") var revision = false

        func run() async throws {
            let client = try await connection.connect(name: "xy kv get")
            let entry = try await client.jetStream().keyValue(bucket).get(key)
            await client.close()
            guard let entry else { throw NATSError(.serverError, "key '\(key)' has no value in bucket '\(bucket)'") }
            printLine(revision ? "\(entry.revision) \(entry.string)" : entry.string)
        }
    }

    struct Del: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a key (its history stays until purged).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Bucket.") var bucket: String
        @Argument(help: "Key.") var key: String
        @Flag(help: "Purge: drop every revision too.") var purge = false

        func run() async throws {
            let client = try await connection.connect(name: "xy kv del")
            let kv = try await client.jetStream().keyValue(bucket)
            if purge { try await kv.purge(key) } else { try await kv.delete(key) }
            await client.close()
        }
    }

    struct Watch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print current values, a marker line, then every change.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Bucket.") var bucket: String
        @Argument(help: "Key or pattern (* and > allowed).") var key: String = ">"
        @Option(help: "Exit after this many events (the marker counts).") var count: Int?

        func run() async throws {
            let client = try await connection.connect(name: "xy kv watch")
            let watcher = try await client.jetStream().keyValue(bucket).watch(keys: key)
            var seen = 0
            for try await event in watcher {
                switch event {
                case .initialValuesDone:
                    printLine("-- end of initial values --")
                case .entry(let entry):
                    switch entry.operation {
                    case .put: printLine("[\(entry.revision)] PUT \(entry.key): \(entry.string)")
                    case .delete: printLine("[\(entry.revision)] DEL \(entry.key)")
                    case .purge: printLine("[\(entry.revision)] PURGE \(entry.key)")
                    }
                }
                seen += 1
                if let count, seen >= count { break }
            }
            watcher.stop()
            await client.close()
        }
    }

    struct Keys: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the keys that have a value.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Bucket.") var bucket: String

        func run() async throws {
            let client = try await connection.connect(name: "xy kv ls")
            for key in try await client.jetStream().keyValue(bucket).keys().sorted() { printLine(key) }
            await client.close()
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Delete a bucket.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Bucket.") var bucket: String

        func run() async throws {
            let client = try await connection.connect(name: "xy kv rm")
            try await client.jetStream().deleteKeyValue(bucket)
            printLine("deleted bucket \(bucket)")
            await client.close()
        }
    }
}

import ArgumentParser
import Foundation
import NATS
import NIOCore
import XYContracts

struct Pub: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Publish a message.")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Subject.") var subject: String
    @Argument(help: "Payload (text).") var payload: String = ""
    @Option(help: "Number of copies to publish.") var count: Int = 1
    @Option(name: .customLong("header"), help: "Header Key:Value (repeatable).") var headers: [String] = []
    @Option(help: "Reply subject.") var reply: String?

    func run() async throws {
        guard count >= 1 else { throw ValidationError("--count must be at least 1") }
        let client = try await connection.connect(name: "xy pub")
        let headers = try parseHeaders(self.headers)
        let body = ByteBuffer(string: payload)
        do {
            // Waits for the server's verdict: a refused subject fails here (exit 1), not silently.
            try await client.publishConfirmed(subject, payload: body, replyTo: reply, headers: headers, count: count)
        } catch let error as NATSError where error.code == .permissionsViolation {
            await client.close()
            throw NATSError(error.code, "the server refused the publish to '\(subject)': \(error.message)")
        } catch {
            await client.close()
            throw error
        }
        await client.close()
    }
}

struct Sub: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Subscribe and print one line per message.")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Subject (wildcards allowed).") var subject: String
    @Option(help: "Queue group.") var queue: String?
    @Option(help: "Exit after this many messages.") var count: Int?
    @Flag(help: "Print each message as a JSON object.") var json = false

    func run() async throws {
        let client = try await connection.connect(name: "xy sub")
        let subscription = try client.subscribe(subject, queue: queue)
        if let count { try subscription.unsubscribe(after: count) }
        try await client.flush()
        var received = 0
        for try await message in subscription {
            received += 1
            printLine(json ? Self.json(message) : Self.text(message, number: received))
            if let count, received >= count { break }
        }
        await client.close()
    }

    static func text(_ message: NATSMessage, number: Int) -> String {
        var line = "[#\(number)] \(message.subject)"
        if let reply = message.replyTo { line += " (reply \(reply))" }
        if let headers = message.headers, !headers.fields.isEmpty {
            line += " {" + headers.fields.map { "\($0.name): \($0.value)" }.joined(separator: ", ") + "}"
        }
        return line + ": " + message.string
    }

    static func json(_ message: NATSMessage) -> String {
        var object: [String: Any] = ["subject": message.subject, "data": message.string]
        if let reply = message.replyTo { object["reply"] = reply }
        if let headers = message.headers {
            var fields: [String: [String]] = [:]
            for field in headers.fields { fields[field.name, default: []].append(field.value) }
            object["headers"] = fields
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}

struct Req: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send a request and print the reply.",
        discussion: """
            A reply whose Xy-Schema header names an xy Protobuf message prints as JSON, UTF-8 text as \
            it is, other bytes as base64 (with a note on stderr); --raw writes the bytes unchanged.
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Subject.") var subject: String
    @Argument(help: "Payload (text).") var payload: String = ""
    @Option(help: "How long to wait for the reply.") var timeout: DurationArgument = "5s"
    @Option(name: .customLong("header"), help: "Header Key:Value (repeatable).") var headers: [String] = []
    @Flag(help: "Write the reply's bytes to stdout unchanged (no decoding, no newline), for pipes.") var raw = false

    func run() async throws {
        let client = try await connection.connect(name: "xy req")
        defer { Task { await client.close() } }
        let reply = try await client.request(subject, payload: ByteBuffer(string: payload), headers: try parseHeaders(headers), timeout: timeout.amount)
        let bytes = Array(reply.payload.readableBytesView)
        if raw {
            FileHandle.standardOutput.write(Data(bytes))
        } else {
            let shown = ReplyFormat.show(bytes, schema: reply.headers?[Subjects.schemaHeader])
            if let note = shown.note { FileHandle.standardError.write(Data("xy req: \(note)\n".utf8)) }
            printLine(shown.text)
        }
        await client.close()
    }
}

struct Reply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Answer requests on a subject with a fixed payload.")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Subject.") var subject: String
    @Argument(help: "Reply payload (text).") var payload: String
    @Option(help: "Queue group.") var queue: String?
    @Option(help: "Exit after this many requests.") var count: Int?

    func run() async throws {
        let client = try await connection.connect(name: "xy reply")
        let subscription = try client.subscribe(subject, queue: queue)
        if let count { try subscription.unsubscribe(after: count) }
        try await client.flush()
        let body = ByteBuffer(string: payload)
        var answered = 0
        for try await message in subscription {
            guard let replyTo = message.replyTo else { continue }
            try await client.publishWithBackpressure(replyTo, payload: body)
            answered += 1
            printLine("[#\(answered)] replied on \(message.subject)")
            if let count, answered >= count { break }
        }
        try await client.flush()
        await client.close()
    }
}

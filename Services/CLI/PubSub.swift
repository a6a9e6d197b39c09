import ArgumentParser
import Foundation
import NATS
import NIOCore

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
        for _ in 0..<count {
            try client.publish(subject, payload: body, replyTo: reply, headers: headers)
        }
        try await client.flush()
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
    static let configuration = CommandConfiguration(abstract: "Send a request and print the reply.")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Subject.") var subject: String
    @Argument(help: "Payload (text).") var payload: String = ""
    @Option(help: "How long to wait for the reply.") var timeout = DurationArgument(.seconds(5), text: "5s")
    @Option(name: .customLong("header"), help: "Header Key:Value (repeatable).") var headers: [String] = []

    func run() async throws {
        let client = try await connection.connect(name: "xy req")
        defer { Task { await client.close() } }
        let reply = try await client.request(subject, payload: ByteBuffer(string: payload), headers: try parseHeaders(headers), timeout: timeout.amount)
        printLine(reply.string)
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
            try client.publish(replyTo, payload: body)
            answered += 1
            printLine("[#\(answered)] replied on \(message.subject)")
            if let count, answered >= count { break }
        }
        try await client.flush()
        await client.close()
    }
}

import NATSTestSupport

/// Just enough of the NATS client protocol, spoken by hand, to check what a server accepts.
extension LoopbackConnection {
    /// Reads the server's first line, which must be `INFO {json}`, and returns the JSON.
    func readInfo() throws -> MonitoringJSON {
        let line = try readLine()
        guard line.hasPrefix("INFO ") else {
            throw NATSServerError(.socketFailed, "expected INFO, got \(line.debugDescription)")
        }
        return try MonitoringJSON.parse(Array(line.dropFirst(5).utf8))
    }

    /// Sends `CONNECT <json>` and `PING`, and returns the answer: `PONG` or the `-ERR …` line.
    func connect(_ json: String = #"{"verbose":false,"pedantic":false}"#) throws -> String {
        try send("CONNECT \(json)\r\nPING\r\n")
        return try readLine { $0 == "PONG" || $0.hasPrefix("-ERR") }
    }

    /// Publishes `payload` to `subject` and returns `PONG` when the server accepted it, or
    /// its `-ERR …` line (a permissions violation leaves the connection open).
    func publish(_ subject: String, replyTo: String? = nil, _ payload: String) throws -> String {
        let reply = replyTo.map { " \($0)" } ?? ""
        try send("PUB \(subject)\(reply) \(payload.utf8.count)\r\n\(payload)\r\nPING\r\n")
        return try answerToPing()
    }

    /// Subscribes and returns `PONG` when the server accepted it, or its `-ERR …` line.
    func subscribe(_ subject: String, sid: Int) throws -> String {
        try send("SUB \(subject) \(sid)\r\nPING\r\n")
        return try answerToPing()
    }

    /// Reads through the `PONG` that answers our `PING`; returns the first `-ERR` before it,
    /// or `PONG`.
    private func answerToPing() throws -> String {
        var error: String?
        while true {
            let line = try readLine { $0 == "PONG" || $0.hasPrefix("-ERR") }
            if line == "PONG" { return error ?? line }
            if error == nil { error = line }
            if line == "-ERR 'Authorization Violation'" { return line }  // the server closes
        }
    }

    /// Reads up to the next `MSG` and returns its payload as text.
    func readMessagePayload() throws -> String {
        let header = try readLine { $0.hasPrefix("MSG ") }
        guard let size = header.split(separator: " ").last.flatMap({ Int($0) }) else {
            throw NATSServerError(.socketFailed, "bad MSG line \(header.debugDescription)")
        }
        let bytes = try read(count: size + 2)
        return String(decoding: bytes.dropLast(2), as: UTF8.self)
    }

    /// A JetStream API request (`$JS.API.<api>`), answered on a private inbox; returns the reply JSON.
    func jetStreamRequest(_ api: String, _ body: String) throws -> MonitoringJSON {
        let inbox = "_INBOX.harness\(Int.random(in: 0..<1_000_000))"
        guard try subscribe(inbox, sid: 99) == "PONG" else {
            throw NATSServerError(.socketFailed, "cannot subscribe to \(inbox)")
        }
        try send("PUB $JS.API.\(api) \(inbox) \(body.utf8.count)\r\n\(body)\r\n")
        return try MonitoringJSON.parse(Array(readMessagePayload().utf8))
    }
}

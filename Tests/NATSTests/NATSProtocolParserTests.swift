import Foundation
import NIOCore
import Testing

@testable @_spi(Fuzzing) import NATS

/// Feeds bytes the way the channel handler does: appends each chunk to what is left, parses all it can.
private func parseAll(_ chunks: [[UInt8]]) throws -> [NATSServerOp] {
    var parser = NATSProtocolParser()
    var buffer = ByteBuffer()
    var ops: [NATSServerOp] = []
    for chunk in chunks {
        buffer.writeBytes(chunk)
        while let op = try parser.parse(&buffer) { ops.append(op) }
    }
    #expect(buffer.readableBytes == 0, "unconsumed bytes left")
    return ops
}

private func wholeAndByteByByte(_ text: String) throws -> [NATSServerOp] {
    let bytes = Array(text.utf8)
    let whole = try parseAll([bytes])
    let single = try parseAll(bytes.map { [$0] })
    #expect(describe(whole) == describe(single), "byte-by-byte parse differs from whole parse")
    // Every two-way split too: an operation may be cut anywhere.
    for cut in stride(from: 1, to: bytes.count, by: max(1, bytes.count / 17)) {
        let split = try parseAll([Array(bytes[..<cut]), Array(bytes[cut...])])
        #expect(describe(split) == describe(whole), "split at \(cut) differs")
    }
    return whole
}

private func describe(_ ops: [NATSServerOp]) -> [String] {
    ops.map { op in
        switch op {
        case .info(let json): return "INFO \(json)"
        case .msg(let m):
            let headers = m.headers.map { h in "\(h.status.map(String.init) ?? "-") \(h.statusDescription ?? "-") \(h.fields.map { "\($0.name)=\($0.value)" })" } ?? "none"
            return "MSG \(m.subject) \(m.sid) \(m.replyTo ?? "-") [\(headers)] \(String(buffer: m.payload))"
        case .ping: return "PING"
        case .pong: return "PONG"
        case .ok: return "+OK"
        case .err(let text): return "-ERR \(text)"
        }
    }
}

private func expectError(_ text: String, _ fragment: String) {
    do {
        _ = try parseAll([Array(text.utf8)])
        Issue.record("expected a protocol error containing '\(fragment)' for \(text.debugDescription)")
    } catch let error as NATSError {
        #expect(error.code == .protocolError)
        #expect(error.message.contains(fragment), "message was: \(error.message)")
    } catch {
        Issue.record("unexpected error \(error)")
    }
}

@Suite("Protocol parser")
struct NATSProtocolParserTests {
    @Test("every server operation, whole and split anywhere")
    func everyOperation() throws {
        let stream = "INFO {\"server_id\":\"x\",\"max_payload\":1048576}\r\n"
            + "PING\r\nPONG\r\n+OK\r\n-ERR 'Unknown Protocol Operation'\r\n"
            + "MSG foo.bar 9 11\r\nhello world\r\n"
            + "MSG foo.bar 10 reply.to 2\r\nhi\r\n"
            + "MSG empty 1 0\r\n\r\n"
        let ops = try wholeAndByteByByte(stream)
        #expect(describe(ops) == [
            "INFO {\"server_id\":\"x\",\"max_payload\":1048576}",
            "PING", "PONG", "+OK", "-ERR Unknown Protocol Operation",
            "MSG foo.bar 9 - [none] hello world",
            "MSG foo.bar 10 reply.to [none] hi",
            "MSG empty 1 - [none] ",
        ])
    }

    @Test("ops are case-insensitive and fields may be separated by tabs and runs of spaces")
    func caseAndWhitespace() throws {
        let ops = try wholeAndByteByByte("msg\tfoo  7 \t 3\r\nabc\r\nping\r\nPoNg\r\n+ok\r\n")
        #expect(describe(ops) == ["MSG foo 7 - [none] abc", "PING", "PONG", "+OK"])
    }

    @Test("payload is read by length and may contain CRLF and protocol text")
    func payloadWithCRLF() throws {
        let payload = "a\r\nPING\r\nMSG x 1 2\r\n"
        let ops = try wholeAndByteByByte("MSG s 1 \(payload.utf8.count)\r\n\(payload)\r\nPONG\r\n")
        #expect(describe(ops) == ["MSG s 1 - [none] \(payload)", "PONG"])
    }

    @Test("HMSG with headers, multi-value fields and a reply")
    func headers() throws {
        let block = "NATS/1.0\r\nA: 1\r\nB:two\r\nA: 3\r\n\r\n"
        let total = block.utf8.count + 5
        let ops = try wholeAndByteByByte("HMSG sub.j 4 _INBOX.x \(block.utf8.count) \(total)\r\n\(block)hello\r\n")
        guard case .msg(let message) = ops.first else {
            Issue.record("no message")
            return
        }
        #expect(message.subject == "sub.j")
        #expect(message.replyTo == "_INBOX.x")
        #expect(message.headers?.values(for: "A") == ["1", "3"])
        #expect(message.headers?["B"] == "two")
        #expect(message.headers?.status == nil)
        #expect(message.string == "hello")
    }

    @Test("HMSG status line: 503 no responders and 404 with a description")
    func statusLines() throws {
        let noResponders = "NATS/1.0 503\r\n\r\n"
        let notFound = "NATS/1.0 404 No Messages\r\n\r\n"
        let ops = try wholeAndByteByByte(
            "HMSG _INBOX.a 2 \(noResponders.utf8.count) \(noResponders.utf8.count)\r\n\(noResponders)\r\n"
                + "HMSG _INBOX.b 2 \(notFound.utf8.count) \(notFound.utf8.count)\r\n\(notFound)\r\n"
        )
        #expect(describe(ops) == [
            "MSG _INBOX.a 2 - [503 - []] ",
            "MSG _INBOX.b 2 - [404 No Messages []] ",
        ])
    }

    @Test("an operation that has not fully arrived consumes nothing and waits")
    func partialInput() throws {
        var parser = NATSProtocolParser()
        var buffer = ByteBuffer(string: "MSG a 1 5\r\nhel")
        #expect(try parser.parse(&buffer) == nil)
        buffer.writeString("lo\r")
        #expect(try parser.parse(&buffer) == nil)
        buffer.writeString("\n")
        guard case .msg(let message) = try parser.parse(&buffer) else {
            Issue.record("no message")
            return
        }
        #expect(message.string == "hello")
    }

    @Test("the control line is capped at 4096 bytes")
    func controlLineCap() {
        expectError("INFO " + String(repeating: "x", count: 5000), "longer than 4096")
        // Exactly at the cap is fine.
        let json = String(repeating: "y", count: NATSProtocolParser.maxControlLineLength - 5)
        #expect((try? parseAll([Array("INFO \(json)\r\n".utf8)]))?.count == 1)
    }

    @Test("malformed input is an error, never a crash", arguments: [
        ("FOO bar\r\n", "unknown operation"),
        ("MSG a 1 x\r\nabc\r\n", "bad length"),
        ("MSG a 1 -3\r\nabc\r\n", "bad length"),
        ("MSG a x 3\r\nabc\r\n", "bad sid"),
        ("MSG a 1\r\n", "too few"),
        ("MSG a 1 b c 3\r\nabc\r\n", "too many"),
        ("MSG a 1 3\r\nabcd\r\n", "not followed by CRLF"),
        ("PING\n", "not terminated by CRLF"),
        ("\r\n", "empty control line"),
        ("HMSG a 1 10 5\r\n12345\r\n", "bad header length"),
        ("MSG a 1 99999999999\r\nx", "exceeds"),
        ("MSG a 1 99999999999999999999\r\n", "bad length"),
    ])
    func malformed(input: String, fragment: String) {
        expectError(input, fragment)
    }

    @Test("a malformed header block costs the message its headers, not the connection", arguments: [
        "HMSG a 1 5 7\r\nHELLOhi\r\n",
        "HMSG a 1 15 17\r\nNATS/1.0 5x\r\n\r\nhi\r\n",
        "HMSG a 1 15 17\r\nNATS/1.0\r\nz\r\n\r\nhi\r\n",
    ])
    func malformedHeaders(input: String) throws {
        var parser = NATSProtocolParser()
        var buffer = ByteBuffer(string: input + "PING\r\n")
        guard case .msg(let message) = try parser.parse(&buffer) else {
            Issue.record("no message")
            return
        }
        #expect(message.headers == nil)
        #expect(message.string == "hi")
        #expect(parser.malformedHeaders == 1)
        guard case .ping = try parser.parse(&buffer) else {
            Issue.record("the stream did not continue after the message")
            return
        }
    }

    @Test("a message longer than the limit is refused before anything is allocated for it")
    func lengthLimit() {
        var parser = NATSProtocolParser()
        parser.maxMessageLength = 1024
        var buffer = ByteBuffer(string: "MSG a 1 1025\r\n")
        #expect(throws: NATSError.self) { try parser.parse(&buffer) }
    }

    @Test("subjects reused from the cache are always the ones on the wire, across collisions and more subjects than slots")
    func subjectCache() throws {
        // 3 × the cache's slots, each sent twice in a different order, with lengths from 1 to 30 bytes.
        var subjects: [String] = []
        for index in 0..<(3 * SubjectCache.slots) {
            let padding = String(repeating: "x", count: index % 13)
            subjects.append(index % 97 == 0 ? "s" : "xy.md.event.S\(index)\(padding)")
        }
        let expected = subjects + subjects.reversed()
        var text = ""
        for subject in expected {
            text += "MSG \(subject) 1 1\r\nx\r\n"
        }
        let got = try parseAll([Array(text.utf8)]).compactMap { op -> String? in
            guard case .msg(let message) = op else { return nil }
            return message.subject
        }
        #expect(got == expected)
    }

    @Test("the payload is a slice of the read buffer, not a copy")
    func payloadIsSlice() throws {
        var parser = NATSProtocolParser()
        var buffer = ByteBuffer(string: "MSG a 1 3\r\nabc\r\n")
        guard case .msg(let message) = try parser.parse(&buffer) else {
            Issue.record("no message")
            return
        }
        let sameStorage = buffer.withUnsafeReadableBytes { outer in
            message.payload.withUnsafeReadableBytes { inner in
                inner.baseAddress! >= outer.baseAddress! - 64 && inner.baseAddress! <= outer.baseAddress!
            }
        }
        #expect(sameStorage)
    }
}

@Suite("Fuzz corpus")
struct NATSFuzzCorpusTests {
    @Test("every committed fuzz input parses the same whole and split, without a crash")
    func replayCorpus() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz/corpus/parser")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(files.count >= 5)
        for file in files {
            let data = try Data(contentsOf: directory.appendingPathComponent(file))
            data.withUnsafeBytes { NATSProtocolFuzzing.check($0) }
            let ops = data.withUnsafeBytes { NATSProtocolFuzzing.run([$0]) }
            #expect(!ops.isEmpty && !ops.contains { $0.hasPrefix("error") }, "\(file): \(ops)")
        }
    }
}

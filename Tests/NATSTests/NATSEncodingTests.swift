import NIOCore
import NIOEmbedded
import Testing

@testable import NATS

@Suite("Protocol encoder and validation")
struct NATSEncodingTests {
    @Test("PUB, HPUB, SUB, UNSUB lines are byte-exact")
    func lines() throws {
        var buffer = ByteBuffer()
        buffer.writeNATSPublish(subject: "a.b", replyTo: nil, payload: ByteBuffer(string: "hello"))
        buffer.writeNATSPublish(subject: "a.b", replyTo: "r.1", payload: ByteBuffer())
        var headers = NATSHeaders()
        headers.append("1", for: "X")
        headers.append("2", for: "X")
        buffer.writeNATSHeaderPublish(subject: "h", replyTo: nil, headers: try headers.encoded(), payload: ByteBuffer(string: "p"))
        buffer.writeNATSSubscribe(subject: "a.*", queue: "q", sid: 12)
        buffer.writeNATSUnsubscribe(sid: 12, max: 100)
        buffer.writeNATSUnsubscribe(sid: 7, max: nil)
        #expect(String(buffer: buffer) == "PUB a.b 5\r\nhello\r\nPUB a.b r.1 0\r\n\r\n"
            + "HPUB h 24 25\r\nNATS/1.0\r\nX: 1\r\nX: 2\r\n\r\np\r\n"
            + "SUB a.* q 12\r\nUNSUB 12 100\r\nUNSUB 7\r\n")
    }

    @Test("decimal writer", arguments: [0, 7, 10, 99, 100, 1_048_576, Int(Int32.max)])
    func decimal(value: Int) {
        var buffer = ByteBuffer()
        buffer.writeDecimal(value)
        #expect(String(buffer: buffer) == String(value))
    }

    @Test("header names and values that would break framing are refused")
    func badHeaders() {
        var value = NATSHeaders()
        value.append("a\r\nPUB x 1", for: "K")
        #expect(throws: NATSError.self) { try value.encoded() }
        var name = NATSHeaders()
        name.append("v", for: "Bad Name")
        #expect(throws: NATSError.self) { try name.encoded() }
        var colon = NATSHeaders()
        colon.append("v", for: "a:b")
        #expect(throws: NATSError.self) { try colon.encoded() }
    }

    @Test("publish subjects", arguments: [
        ("a", true), ("a.b.c", true), ("xy.md.tick.demo", true), ("ünïcode.ok", true),
        ("", false), ("a..b", false), (".a", false), ("a.", false), ("a b", false), ("a\tb", false),
        ("a\r\nPUB", false), ("a.*", false), ("a.>", false), ("a*", false), ("a\u{7F}", false),
    ])
    func publishSubjects(subject: String, valid: Bool) {
        #expect(NATSSubjectValidation.isValidPublishSubject(subject) == valid)
    }

    @Test("subscribe subjects", arguments: [
        ("a.*", true), ("a.>", true), ("*", true), (">", true), ("*.b.>", true),
        ("a.>.b", false), ("a*", false), ("a.b*", false), ("a.*b", false), ("a.>>", false), ("", false), ("a..b", false), ("a b", false),
    ])
    func subscribeSubjects(subject: String, valid: Bool) {
        #expect(NATSSubjectValidation.isValidSubscribeSubject(subject) == valid)
    }

    @Test("queue names")
    func queueNames() {
        #expect(NATSSubjectValidation.isValidQueueName("workers"))
        #expect(NATSSubjectValidation.isValidQueueName("a.b"))
        #expect(!NATSSubjectValidation.isValidQueueName(""))
        #expect(!NATSSubjectValidation.isValidQueueName("a b"))
        #expect(!NATSSubjectValidation.isValidQueueName("a\n"))
    }

    @Test("server URLs")
    func urls() throws {
        let list = try NATSServerAddress.parseList("nats://u:p%40ss@h1:4223, tls://h2,h3:5000,[::1]:4222")
        #expect(list.count == 4)
        #expect(list[0].host == "h1" && list[0].port == 4223 && list[0].user == "u" && list[0].password == "p@ss")
        #expect(list[1].host == "h2" && list[1].port == 4222 && list[1].tlsRequired)
        #expect(list[2].host == "h3" && list[2].port == 5000)
        #expect(list[3].host == "::1")
        #expect(!list[0].description.contains("p@ss"))
        #expect(throws: NATSError.self) { try NATSServerAddress(parsing: "http://x") }
        #expect(throws: NATSError.self) { try NATSServerAddress(parsing: "nats://h:99999") }
        #expect(throws: NATSError.self) { try NATSServerAddress.parseList(" , ") }
    }

    @Test("reconnect backoff doubles from the initial wait and is capped")
    func backoff() {
        var options = NATSClientOptions()
        options.reconnectJitter = 0
        options.reconnectWaitInitial = .milliseconds(50)
        options.reconnectWaitMax = .milliseconds(400)
        let client = NATSClient(options: options, eventLoop: EmbeddedEventLoop())
        let delays = (1...7).map { client.reconnectDelay(attempt: $0).nanoseconds / 1_000_000 }
        #expect(delays == [0, 50, 100, 200, 400, 400, 400])
    }
}

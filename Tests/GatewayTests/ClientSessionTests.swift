import Gateway
import NIOCore
import Testing
import XYCore

@Suite("Client requests and the per-connection rules")
struct ClientSessionTests {
    private func parse(_ text: String) -> Result<ClientRequest, ClientRequest.ParseError> {
        Result { () throws(ClientRequest.ParseError) in try ClientRequest.parse(ByteBuffer(string: text)) }
    }

    @Test("requests parse; anything else is a malformed request with a reason")
    func parsing() throws {
        #expect(try parse(#"{"op":"subscribe","subject":"xy.md.tick.demo"}"#).get() == .subscribe(subject: "xy.md.tick.demo", id: nil))
        #expect(try parse(#"{"op":"unsubscribe","subject":"a","id":7}"#).get() == .unsubscribe(subject: "a", id: "7"))
        #expect(try parse(#"{"op":"ping","id":"p1"}"#).get() == .ping(id: "p1"))
        for bad in ["", "nope", "[]", #"{"subject":"a"}"#, #"{"op":"publish","subject":"a"}"#, #"{"op":"subscribe"}"#,
                    #"{"op":"subscribe","subject":5}"#, #"{"op":"ping","id":true}"#, String(repeating: " ", count: 5000)] {
            guard case .failure = parse(bad) else {
                Issue.record("accepted \(bad.prefix(40))")
                continue
            }
        }
    }

    @Test("subscribe within the grant and quota; duplicates confirm without a second NATS interest")
    func subscriptions() {
        var session = ClientRequestRules(maxSubscriptions: 2) { subject in
            subject.hasPrefix("xy.md.") ? nil : (code: .subjectDenied, message: "subject not granted")
        }
        #expect(session.received(.subscribe(subject: "xy.md.tick.demo", id: "1")) == [.subscribe(subject: "xy.md.tick.demo", id: "1")])
        #expect(session.received(.subscribe(subject: "xy.md.tick.demo", id: "2")) == [.confirm(type: "subscribed", subject: "xy.md.tick.demo", id: "2")])
        #expect(session.received(.subscribe(subject: "xy.admin", id: nil)) == [.error(code: .subjectDenied, message: "subject not granted", subject: "xy.admin", id: nil)])
        #expect(session.received(.subscribe(subject: "xy.md.tick.tech", id: nil)) == [.subscribe(subject: "xy.md.tick.tech", id: nil)])
        #expect(session.received(.subscribe(subject: "xy.md.tick.more", id: nil)).first == .error(code: .quotaExceeded, message: "at most 2 subscriptions per connection", subject: "xy.md.tick.more", id: nil))
        #expect(session.received(.unsubscribe(subject: "xy.md.tick.demo", id: nil)) == [.unsubscribe(subject: "xy.md.tick.demo", id: nil)])
        #expect(session.received(.unsubscribe(subject: "xy.md.tick.demo", id: nil)) == [.confirm(type: "unsubscribed", subject: "xy.md.tick.demo", id: nil)])
        #expect(session.received(.ping(id: nil)) == [.pong(id: nil)])
        #expect(session.closed() == ["xy.md.tick.tech"])
        #expect(session.subjects.isEmpty)
    }

    @Test("repeated abuse closes the connection with 1008")
    func abuse() {
        var session = ClientRequestRules(maxSubscriptions: 10, maxStrikes: 3) { _ in (code: .subjectDenied, message: "no") }
        for _ in 0..<3 { #expect(session.malformed("bad JSON").count == 1) }
        let last = session.received(.subscribe(subject: "x", id: nil))
        #expect(last.last == .close(code: 1008, reason: "too many refused requests"))
    }
}

@testable import NATS
import NIOCore
import NIOEmbedded
import Testing

@Suite("Request bookkeeping")
struct RequestMuxTests {
    @Test("reply tokens decode back to their request numbers; other text does not")
    func tokens() {
        for number in [UInt64(0), 1, 61, 62, 3843, 3844, 1 << 40, UInt64.max] {
            let token = NUID.token(number)
            #expect(NUID.number(fromToken: Array(token.utf8)) == number, "token \(token)")
        }
        #expect(NUID.number(fromToken: Array("".utf8)) == nil)
        #expect(NUID.number(fromToken: Array("a-b".utf8)) == nil)
        #expect(NUID.number(fromToken: Array("zzzzzzzzzzzz".utf8)) == nil)
    }

    @Test("expiry takes exactly the requests past their deadline, ignoring answered ones")
    func expiry() {
        let loop = EmbeddedEventLoop()
        var mux = RequestMux()
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        for id in UInt64(1)...4 {
            let deadline = start + .milliseconds(Int64(id) * 100)
            mux.pending[id] = .init(promise: loop.makePromise(), subject: "s\(id)", deadline: deadline, timeout: .milliseconds(100))
            mux.deadlines.insert(.init(deadline: deadline, id: id))
        }
        let answered = mux.pending.removeValue(forKey: 2)
        let expired = mux.expire(now: start + .milliseconds(300))
        #expect(expired.map(\.subject).sorted() == ["s1", "s3"])
        #expect(mux.pending.keys.sorted() == [4])
        #expect(mux.deadlines.count == 1)
        for entry in expired + [answered!] + Array(mux.pending.values) { entry.promise.succeed(NATSMessage(subject: "x", payload: ByteBuffer())) }
    }
}

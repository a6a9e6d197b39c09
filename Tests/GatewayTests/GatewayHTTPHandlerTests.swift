@testable import Gateway
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
import XYService

/// The handler tier: ``GatewayHTTPHandler`` and the upgrade pipeline on `EmbeddedChannel`, the
/// clock moved by hand. A handler bug (a deadline that never fires, a count that is never given
/// back, a missing refusal) shows up here without sockets or processes.
@Suite("xy-gateway: the HTTP side on EmbeddedChannel")
struct GatewayHTTPHandlerTests {
    static let get = "GET /healthz HTTP/1.1\r\nHost: gateway.test\r\n\r\n"

    @Test("/healthz and /metrics answer with their bodies; HEAD has none; POST is 405")
    func routes() throws {
        let gateway = EmbeddedGateway()
        let channel = try gateway.connect()
        let health = try gateway.request(channel, Self.get)
        #expect(health.status == 200)
        #expect(health.body == EmbeddedGateway.healthBody)
        #expect(health.header("Content-Type") == "application/json")

        let metrics = try gateway.request(channel, "GET /metrics HTTP/1.1\r\nHost: gateway.test\r\n\r\n")
        #expect(metrics.status == 200)
        #expect(metrics.body == EmbeddedGateway.metricsBody)

        let head = try gateway.request(channel, "HEAD /healthz HTTP/1.1\r\nHost: gateway.test\r\n\r\n")
        #expect(head.status == 200)
        #expect(head.body.isEmpty)

        let post = try gateway.request(channel, "POST /healthz HTTP/1.1\r\nHost: gateway.test\r\nContent-Length: 0\r\n\r\n")
        #expect(post.status == 405)
        #expect(post.code == "XYW007")
        #expect(channel.isActive, "a kept-alive connection stays open between requests")
        gateway.close(channel)
    }

    @Test("refusals: 426 for plain GET /ws, 401 XYW001 without a token, 400 XYW007 for a bad key, 404 elsewhere")
    func refusals() throws {
        let gateway = EmbeddedGateway()
        let plain = try gateway.connect()
        let upgradeRequired = try gateway.request(plain, "GET /ws HTTP/1.1\r\nHost: gateway.test\r\n\r\n")
        #expect(upgradeRequired.status == 426)
        #expect(upgradeRequired.code == "XYW007")
        #expect(try gateway.request(plain, "GET /nothing HTTP/1.1\r\nHost: gateway.test\r\n\r\n").status == 404)

        let anonymous = try gateway.connect()
        let unauthorized = try gateway.request(anonymous, EmbeddedGateway.upgradeRequest(subject: nil))
        #expect(unauthorized.status == 401)
        #expect(unauthorized.code == "XYW001")
        #expect(!anonymous.isActive, "a refused upgrade closes the connection")

        let badKey = try gateway.connect()
        let request = EmbeddedGateway.upgradeRequest(subject: "alice").replacingOccurrences(of: "dGhlIHNhbXBsZSBub25jZQ==", with: "short")
        let bad = try gateway.request(badKey, request)
        #expect(bad.status == 400)
        #expect(bad.code == "XYW007")
        #expect(gateway.installed.withLockedValue { $0.isEmpty })
        gateway.close(plain)
    }

    @Test("HTTP/1.1 without Host, with two, or with a malformed one is 400 XYW007 (RFC 9112 §3.2); HTTP/1.0 needs none")
    func host() throws {
        let gateway = EmbeddedGateway()
        let missing = try gateway.connect()
        let noHost = try gateway.request(missing, "GET /healthz HTTP/1.1\r\n\r\n")
        #expect(noHost.status == 400)
        #expect(noHost.code == "XYW007")
        #expect(noHost.message?.contains("Host") == true)
        #expect(!missing.isActive)

        let twice = try gateway.connect()
        #expect(try gateway.request(twice, "GET /healthz HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n").status == 400)

        let malformed = try gateway.connect()
        #expect(try gateway.request(malformed, "GET /healthz HTTP/1.1\r\nHost: a.test/evil\r\n\r\n").status == 400)

        let old = try gateway.connect()
        let http10 = try gateway.request(old, "GET /healthz HTTP/1.0\r\n\r\n")
        #expect(http10.status == 200)
        #expect(http10.body == EmbeddedGateway.healthBody)

        let upgrade = try gateway.connect()
        let refused = try gateway.request(upgrade, EmbeddedGateway.upgradeRequest(subject: "alice", host: nil))
        #expect(refused.status == 400)
        #expect(refused.code == "XYW007")
        #expect(gateway.installed.withLockedValue { $0.isEmpty }, "no upgrade without Host")
        #expect(gateway.limiter.trackedKeys == 0)
    }

    @Test("a connection that sends nothing, half a request line, or an upgrade that is never authenticated is closed at the request deadline, not before")
    func requestDeadline() throws {
        let gateway = EmbeddedGateway(maxPerAddress: 10, requestTimeout: .seconds(10))
        let silent = try gateway.connect()
        let half = try gateway.connect()
        gateway.send(half, "GET /heal")
        let headOnly = try gateway.connect()
        gateway.send(headOnly, "POST /healthz HTTP/1.1\r\nHost: gateway.test\r\nContent-Length: 100\r\n\r\nabc")
        gateway.holdAuthentication.withLockedValue { $0 = true }
        let stuck = try gateway.connect()
        gateway.send(stuck, EmbeddedGateway.upgradeRequest(subject: "alice"))
        #expect(gateway.limiter.count(.address, "192.0.2.1") == 4)

        gateway.advance(.milliseconds(9_999))
        #expect(silent.isActive && half.isActive && headOnly.isActive && stuck.isActive)
        gateway.advance(.milliseconds(1))
        #expect(!stuck.isActive, "an upgrade whose authentication never finishes")
        #expect(!silent.isActive, "nothing sent")
        #expect(!half.isActive, "half a request line")
        #expect(!headOnly.isActive, "a body that never ends")
        #expect(try gateway.written(silent).isEmpty, "closed without an answer")
        #expect(gateway.limiter.trackedKeys == 0, "the deadline close gave the address count back")
    }

    @Test("a kept-alive connection is closed after the idle timeout; a new request restarts the request deadline")
    func keepAliveDeadline() throws {
        let gateway = EmbeddedGateway(requestTimeout: .seconds(10), keepAliveTimeout: .seconds(15))
        let channel = try gateway.connect()
        gateway.advance(.seconds(9))
        #expect(try gateway.request(channel, Self.get).status == 200)
        gateway.advance(.seconds(14))
        #expect(channel.isActive, "the request deadline ended with the answer; 14 s idle is within 15")
        // A whole head whose body never ends: the head restarts the request deadline.
        gateway.send(channel, "POST /healthz HTTP/1.1\r\nHost: gateway.test\r\nContent-Length: 10\r\n\r\n")
        gateway.advance(.seconds(9))
        #expect(channel.isActive, "the head restarted the request deadline")
        gateway.advance(.seconds(1))
        #expect(!channel.isActive, "the rest of the request never came")

        let idle = try gateway.connect()
        #expect(try gateway.request(idle, Self.get).status == 200)
        gateway.advance(.milliseconds(14_999))
        #expect(idle.isActive)
        gateway.advance(.milliseconds(1))
        #expect(!idle.isActive)

        // Half a head after an answer is still idle time: the idle deadline closes it.
        let halfHead = try gateway.connect()
        #expect(try gateway.request(halfHead, Self.get).status == 200)
        gateway.send(halfHead, "GET /healthz HTTP/1.1\r\nHost: gat")
        gateway.advance(.seconds(15))
        #expect(!halfHead.isActive)
    }

    @Test("an upgrade answers 101 with the RFC 6455 accept value, leaves HTTP and its deadlines behind, and counts its subject until it closes")
    func upgrade() throws {
        let gateway = EmbeddedGateway(maxPerAddress: 5, maxPerSubject: 5)
        let channel = try gateway.connect(from: "198.51.100.4")
        let response = try gateway.request(channel, EmbeddedGateway.upgradeRequest(subject: "alice"))
        #expect(response.status == 101)
        #expect(response.header("Sec-WebSocket-Accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        #expect(response.header("Upgrade")?.lowercased() == "websocket")
        #expect(gateway.installed.withLockedValue { $0.map(\.subject) } == ["alice"])
        #expect(gateway.installed.withLockedValue { $0.map(\.address) } == ["198.51.100.4"])
        #expect(throws: (any Error).self, "the HTTP handler left the pipeline") {
            try channel.pipeline.syncOperations.handler(type: GatewayHTTPHandler.self)
        }
        gateway.advance(.seconds(3600))
        #expect(channel.isActive, "no HTTP deadline applies after the upgrade")
        #expect(gateway.limiter.count(.subject, "alice") == 1)
        #expect(gateway.limiter.count(.address, "198.51.100.4") == 1)
        gateway.close(channel)
        #expect(gateway.limiter.trackedKeys == 0)
    }

    @Test("per-address cap: the connection over it is answered 429 XYW006; one closing admits the next")
    func addressCap() throws {
        let gateway = EmbeddedGateway(maxPerAddress: 2)
        let first = try gateway.connect()
        let second = try gateway.connect()
        let third = try gateway.connect()
        #expect(gateway.limiter.count(.address, "192.0.2.1") == 2)
        let refused = try gateway.request(third, EmbeddedGateway.upgradeRequest(subject: "alice"))
        #expect(refused.status == 429)
        #expect(refused.code == "XYW006")
        #expect(refused.message?.contains("address") == true)
        #expect(!third.isActive)
        let plain = try gateway.connect()
        #expect(try gateway.request(plain, Self.get).status == 429, "plain HTTP counts too")

        let other = try gateway.connect(from: "192.0.2.2")
        #expect(try gateway.request(other, Self.get).status == 200, "another address has its own count")
        let mapped = try gateway.connect(from: "::ffff:192.0.2.2")
        #expect(gateway.limiter.count(.address, "192.0.2.2") == 2, "an IPv4-mapped peer counts as its IPv4 address")
        gateway.close(mapped)

        // A socket accepted over the cap that sends nothing gets one second, not the full deadline.
        let silentOver = try gateway.connect()
        gateway.advance(.milliseconds(999))
        #expect(silentOver.isActive)
        gateway.advance(.milliseconds(1))
        #expect(!silentOver.isActive)
        #expect(second.isActive, "the connections within the cap keep their 10 s")

        gateway.close(first)
        let fourth = try gateway.connect()
        #expect(try gateway.request(fourth, EmbeddedGateway.upgradeRequest(subject: "alice")).status == 101)
        for channel in [second, fourth, other] { gateway.close(channel) }
        #expect(gateway.limiter.trackedKeys == 0)
    }

    @Test("per-subject cap: an upgrade over it is 429 XYW006; the count goes down on close, on refusal, when the client leaves during authentication, and when the session cannot be installed")
    func subjectCap() throws {
        let gateway = EmbeddedGateway(maxPerSubject: 1)
        let alice = try gateway.connect(from: "192.0.2.1")
        #expect(try gateway.request(alice, EmbeddedGateway.upgradeRequest(subject: "alice")).status == 101)
        let again = try gateway.connect(from: "192.0.2.2")
        let refused = try gateway.request(again, EmbeddedGateway.upgradeRequest(subject: "alice"))
        #expect(refused.status == 429)
        #expect(refused.code == "XYW006")
        #expect(refused.message?.contains("user") == true)
        let bob = try gateway.connect(from: "192.0.2.2")
        #expect(try gateway.request(bob, EmbeddedGateway.upgradeRequest(subject: "bob")).status == 101)

        gateway.close(alice)
        #expect(gateway.limiter.count(.subject, "alice") == 0)
        let back = try gateway.connect(from: "192.0.2.3")
        #expect(try gateway.request(back, EmbeddedGateway.upgradeRequest(subject: "alice")).status == 101)
        gateway.close(back)

        // The client leaves while its token is being verified: the late success counts nothing.
        gateway.holdAuthentication.withLockedValue { $0 = true }
        let leaving = try gateway.connect(from: "192.0.2.4")
        gateway.send(leaving, EmbeddedGateway.upgradeRequest(subject: "carol"))
        let pending = try #require(gateway.pendingAuthentication.withLockedValue { $0 })
        gateway.close(leaving)
        pending.succeed(EmbeddedGateway.upgrade(subject: "carol"))
        gateway.loop.run()
        #expect(gateway.limiter.count(.subject, "carol") == 0)
        #expect(!gateway.installed.withLockedValue { $0.contains { $0.subject == "carol" } })

        // The session cannot be installed after the 101: the connection is closed, not left
        // without a handler holding its counts.
        gateway.holdAuthentication.withLockedValue { $0 = false }
        gateway.failInstall.withLockedValue { $0 = true }
        let broken = try gateway.connect(from: "192.0.2.5")
        gateway.send(broken, EmbeddedGateway.upgradeRequest(subject: "dave"))
        #expect(!broken.isActive)
        #expect(gateway.limiter.count(.subject, "dave") == 0)

        gateway.close(bob)
        #expect(gateway.limiter.trackedKeys == 0)
    }

    @Test("behind a trusted proxy the client address is the rightmost untrusted X-Forwarded-For entry; other peers' headers are ignored")
    func trustedProxy() throws {
        let gateway = EmbeddedGateway(maxPerAddress: 1, trustedProxies: ["10.0.0.0/8"])
        let forwarded = { (client: String) in "X-Forwarded-For: 198.51.100.66, \(client)\r\nX-Real-IP: 198.51.100.77\r\n" }
        let first = try gateway.connect(from: "10.1.2.3")
        #expect(try gateway.request(first, EmbeddedGateway.upgradeRequest(subject: "a", extraHeaders: forwarded("203.0.113.7"))).status == 101)
        #expect(gateway.installed.withLockedValue { $0.last?.address } == "203.0.113.7", "the session is told the client, not the proxy")
        #expect(gateway.limiter.count(.address, "203.0.113.7") == 1)
        #expect(gateway.limiter.count(.address, "10.1.2.3") == 0, "the proxy itself is not capped")
        #expect(gateway.limiter.count(.address, "198.51.100.66") == 0, "entries the client wrote are ignored")

        let second = try gateway.connect(from: "10.1.2.3")
        #expect(try gateway.request(second, EmbeddedGateway.upgradeRequest(subject: "b", extraHeaders: forwarded("203.0.113.8"))).status == 101)
        let third = try gateway.connect(from: "10.1.2.3")
        #expect(try gateway.request(third, EmbeddedGateway.upgradeRequest(subject: "c", extraHeaders: forwarded("203.0.113.7"))).status == 429)

        let realIP = try gateway.connect(from: "10.9.9.9")
        #expect(try gateway.request(realIP, "GET /healthz HTTP/1.1\r\nHost: g\r\nX-Real-IP: 203.0.113.9\r\n\r\n").status == 200)
        #expect(gateway.limiter.count(.address, "203.0.113.9") == 1)

        let direct = try gateway.connect(from: "192.0.2.50")
        #expect(try gateway.request(direct, "GET /healthz HTTP/1.1\r\nHost: g\r\nX-Forwarded-For: 203.0.113.99\r\n\r\n").status == 200)
        #expect(gateway.limiter.count(.address, "192.0.2.50") == 1)
        #expect(gateway.limiter.count(.address, "203.0.113.99") == 0, "a peer that is no proxy cannot choose its address")

        for channel in [first, second, realIP, direct] { gateway.close(channel) }
        #expect(gateway.limiter.trackedKeys == 0)
    }
}

/// The pure parts: the deadline machine, address ranges and the proxy rule, with plain values.
@Suite("xy-gateway: deadlines and client addresses as plain values")
struct GatewayHTTPRulesTests {
    typealias Machine = GatewayHTTPHandler.DeadlineStateMachine

    @Test("the deadline machine: request deadline from the opening, idle after an answer, stale timers ignored, nothing after the end")
    func machine() {
        var machine = Machine(requestTimeout: .seconds(10), keepAliveTimeout: .seconds(15))
        #expect(machine.connectionOpened() == .arm(.seconds(10), reason: .request, generation: 1))
        #expect(machine.connectionOpened() == .none)
        #expect(machine.requestHeadReceived() == .none, "the first request's deadline began at the opening")
        #expect(machine.responseEnded() == .arm(.seconds(15), reason: .idle, generation: 2))
        #expect(machine.timerFired(generation: 1) == .none, "a stale timer")
        #expect(machine.requestHeadReceived() == .arm(.seconds(10), reason: .request, generation: 3))
        #expect(machine.timerFired(generation: 3) == .close(.request))
        #expect(machine.timerFired(generation: 3) == .none)
        #expect(machine.finished() == .none)

        var idle = Machine(requestTimeout: .seconds(1), keepAliveTimeout: .seconds(2))
        _ = idle.connectionOpened()
        #expect(idle.responseEnded() == .arm(.seconds(2), reason: .idle, generation: 2))
        #expect(idle.timerFired(generation: 2) == .close(.idle))

        var upgraded = Machine(requestTimeout: .seconds(1), keepAliveTimeout: .seconds(2))
        _ = upgraded.connectionOpened()
        #expect(upgraded.finished() == .cancel)
        #expect(upgraded.timerFired(generation: 1) == .none)
        #expect(upgraded.responseEnded() == .none)
        #expect(upgraded.requestHeadReceived() == .none)
    }

    @Test("address ranges: IPv4 and IPv6 CIDR, exact addresses, IPv4-mapped IPv6, garbage refused")
    func ranges() throws {
        let private10 = try #require(IPAddressRange("10.0.0.0/8"))
        #expect(private10.contains(try #require(IPAddressRange.bytes(of: "10.200.1.1"))))
        #expect(!private10.contains(try #require(IPAddressRange.bytes(of: "11.0.0.1"))))
        #expect(private10.contains(try #require(IPAddressRange.bytes(of: "::ffff:10.1.1.1"))))
        let odd = try #require(IPAddressRange("192.168.4.0/22"))
        #expect(odd.contains(try #require(IPAddressRange.bytes(of: "192.168.7.255"))))
        #expect(!odd.contains(try #require(IPAddressRange.bytes(of: "192.168.8.0"))))
        let v6 = try #require(IPAddressRange("fd00::/8"))
        #expect(v6.contains(try #require(IPAddressRange.bytes(of: "fd12::1"))))
        #expect(!v6.contains(try #require(IPAddressRange.bytes(of: "10.0.0.1"))))
        #expect(try #require(IPAddressRange("::1")).contains(try #require(IPAddressRange.bytes(of: "0:0::1"))))
        #expect(IPAddressRange("everything") == nil)
        #expect(IPAddressRange("10.0.0.0/33") == nil)
        #expect(IPAddressRange("10.0.0.0/") == nil)
        #expect(IPAddressRange.canonical("::ffff:192.0.2.1") == "192.0.2.1")
        #expect(IPAddressRange.canonical("0:0::1") == "::1")
    }

    @Test("client address: only a trusted peer's headers count; an entry that is no address stops the walk")
    func resolver() {
        let resolver = ClientAddressResolver(trustedProxies: ["10.0.0.0/8", "192.0.2.10"])
        let headers = { (pairs: [(String, String)]) in HTTPHeaders(pairs) }
        #expect(resolver.clientAddress(peer: "198.51.100.1", headers: headers([("X-Forwarded-For", "203.0.113.1")])) == "198.51.100.1")
        #expect(resolver.clientAddress(peer: "10.0.0.1", headers: headers([("X-Forwarded-For", "1.1.1.1, 203.0.113.1")])) == "203.0.113.1")
        #expect(resolver.clientAddress(peer: "10.0.0.1", headers: headers([("X-Forwarded-For", "203.0.113.1, 192.0.2.10")])) == "203.0.113.1",
                "a chain of trusted proxies is skipped")
        #expect(resolver.clientAddress(peer: "10.0.0.1", headers: headers([("X-Forwarded-For", "203.0.113.1"), ("X-Forwarded-For", "203.0.113.2")])) == "203.0.113.2",
                "repeated headers are one list")
        #expect(resolver.clientAddress(peer: "10.0.0.1", headers: headers([("X-Forwarded-For", "203.0.113.1, not-an-ip")])) == "10.0.0.1")
        #expect(resolver.clientAddress(peer: "10.0.0.1", headers: headers([("X-Real-IP", " 203.0.113.5 ")])) == "203.0.113.5")
        #expect(resolver.clientAddress(peer: "10.0.0.1", headers: headers([])) == "10.0.0.1")
        #expect(resolver.clientAddress(peer: "10.0.0.1", headers: headers([("X-Forwarded-For", "10.0.0.2")])) == "10.0.0.2",
                "all entries trusted: the leftmost")
    }

    @Test("the log throttle: one line per interval, the ones left out counted into the next")
    func logThrottle() {
        let throttle = LogThrottle(interval: .seconds(1))
        let start = NIODeadline.uptimeNanoseconds(5_000_000_000)
        #expect(throttle.admit(now: start) == 0)
        #expect(throttle.admit(now: start + .milliseconds(10)) == nil)
        #expect(throttle.admit(now: start + .milliseconds(999)) == nil)
        #expect(throttle.admit(now: start + .seconds(1)) == 2)
        #expect(throttle.admit(now: start + .seconds(5)) == 0)
    }

    @Test("the limiter: a cap of 0 counts nothing; counts go back to zero and the key is dropped")
    func limiter() {
        let limiter = ConnectionLimiter(maxPerAddress: 2, maxPerSubject: 0)
        #expect(limiter.acquire(.subject, "alice"))
        #expect(limiter.trackedKeys == 0, "no subject cap, nothing counted")
        #expect(limiter.acquire(.address, "a") && limiter.acquire(.address, "a"))
        #expect(!limiter.acquire(.address, "a"))
        #expect(limiter.count(.address, "a") == 2)
        limiter.release(.address, "a")
        #expect(limiter.acquire(.address, "a"))
        limiter.release(.address, "a")
        limiter.release(.address, "a")
        #expect(limiter.trackedKeys == 0)
    }

    @Test("Host: RFC 9112 §3.2 as a rule")
    func hostRule() {
        func head(_ version: HTTPVersion, _ hosts: [String]) -> HTTPRequestHead {
            HTTPRequestHead(version: version, method: .GET, uri: "/", headers: HTTPHeaders(hosts.map { ("Host", $0) }))
        }
        #expect(GatewayHTTPHandler.hostProblem(head(.http1_1, ["gateway.test:8080"])) == nil)
        #expect(GatewayHTTPHandler.hostProblem(head(.http1_1, ["[::1]:8080"])) == nil)
        #expect(GatewayHTTPHandler.hostProblem(head(.http1_1, [""])) == nil, "an empty Host is allowed")
        #expect(GatewayHTTPHandler.hostProblem(head(.http1_1, [])) != nil)
        #expect(GatewayHTTPHandler.hostProblem(head(.http1_0, [])) == nil)
        #expect(GatewayHTTPHandler.hostProblem(head(.http1_0, ["a", "b"])) != nil)
        #expect(GatewayHTTPHandler.hostProblem(head(.http1_1, ["a b"])) != nil)
    }
}

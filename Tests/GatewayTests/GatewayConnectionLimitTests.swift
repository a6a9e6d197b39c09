import Foundation
import GatewayClient
import NATSTestSupport
import NIOConcurrencyHelpers
import NIOCore
import SwiftProtobuf
import Testing
import XYContracts

/// The attacks on the gateway's descriptors, end to end against the real `xy-gateway`: sockets
/// that send half a request line or nothing are closed at the request deadline while real
/// clients still get in, and the caps per client address and per token subject refuse the
/// connection over them (429 XYW006) and admit again once one closes.
@Suite("xy-gateway: deadlines and connection caps before the upgrade")
struct GatewayConnectionLimitTests {
    /// Reads until the gateway closes the socket, without holding a thread while its deadline
    /// runs; throws if it is still open after 30 s.
    private func expectClosedByGateway(_ connection: LoopbackConnection) async throws -> [UInt8] {
        try await connection.readToEnd(timeout: .seconds(30))
    }

    /// A ping answered by a pong: the session is alive.
    private func expectAlive(_ client: WebSocketConnection, _ id: String) async throws {
        try await client.send(text: #"{"op":"ping","id":"\#(id)"}"#)
        let pong = try await client.envelope(ofType: "pong")
        #expect(pong.data["id"] as? String == id)
    }

    @Test("connections that send half a request line or nothing are closed after the deadline; a WebSocket client still gets in and stays")
    func slowloris() async throws {
        // 2 s: short for the test, long enough for a real upgrade on a busy machine.
        try await withHarness(["WS_REQUEST_TIMEOUT": "2s", "WS_KEEPALIVE_TIMEOUT": "1s"]) { harness in
            // Answered, then kept alive and left idle: closed at the keep-alive deadline.
            let keptAlive = try LoopbackConnection(port: harness.port, timeout: .seconds(20))
            try keptAlive.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            var silent: [LoopbackConnection] = []
            var half: [LoopbackConnection] = []
            for _ in 0..<10 {
                silent.append(try LoopbackConnection(port: harness.port, timeout: .seconds(20)))
                let connection = try LoopbackConnection(port: harness.port, timeout: .seconds(20))
                try connection.send("GET /ws HTT")
                half.append(connection)
            }
            let client = try await harness.connectedClient()
            for connection in silent {
                #expect(try await expectClosedByGateway(connection).isEmpty, "closed without an answer")
            }
            for connection in half { _ = try await expectClosedByGateway(connection) }
            let answered = String(decoding: try await expectClosedByGateway(keptAlive), as: UTF8.self)
            #expect(answered.hasPrefix("HTTP/1.1 200"), "answered before the idle close")
            #expect(!answered.lowercased().contains("connection: close"), "the answer kept the connection alive")
            try await harness.eventually("20 request timeouts counted") {
                try harness.metric("xy_ws_http_timeouts_total", labels: "reason=\"request\"") ?? 0 >= 20
            }
            try await harness.eventually("the idle keep-alive close counted") {
                try harness.metric("xy_ws_http_timeouts_total", labels: "reason=\"idle\"") ?? 0 >= 1
            }
            #expect(harness.gateway.log.contains("deadline passed"))
            // The client outlived the deadline that closed the others (an upgraded connection has none).
            try await expectAlive(client, "after-deadline")
            #expect(try harness.metric("xy_ws_active_connections") == 1)
            try await harness.eventually("only the metrics probe's own connection is still plain HTTP") {
                try harness.metric("xy_ws_http_connections") == 1
            }
            await client.close()
        }
    }

    @Test("per-address cap: the connection over it gets 429 XYW006, a socket that sends nothing holds a place until its deadline, and one closing admits the next")
    func perAddressCap() async throws {
        try await withHarness(["WS_MAX_CONNECTIONS_PER_ADDRESS": "4", "WS_REQUEST_TIMEOUT": "5s"]) { harness in
            let token = try await harness.token()
            let first = try await harness.connectedClient()
            let second = try await harness.connectedClient()
            // A socket that never sends a byte takes a place as soon as it is accepted.
            let idle = try LoopbackConnection(port: harness.port, timeout: .seconds(30))
            try await harness.eventually("the idle socket counted (it and this probe are the plain HTTP connections)") {
                try harness.metric("xy_ws_http_connections") == 2
            }
            let third = try await connectEventually(harness, token: token, "the last place (once the probes left)")
            let refused = try await refusedEventually(harness, token: token)
            #expect(refused.response.status == 429)
            let body = try JSONSerialization.jsonObject(with: Data(refused.response.body.utf8)) as? [String: Any]
            #expect(body?["code"] as? String == "XYW006")
            #expect((body?["message"] as? String)?.contains("address") == true)

            _ = try await expectClosedByGateway(idle)
            let fourth = try await connectEventually(harness, token: token, "the place the idle socket held")
            await first.close()
            let fifth = try await connectEventually(harness, token: token, "the place the closed client held")
            for client in [second, third, fourth, fifth] { await client.close() }
            try await harness.eventually("the refusal counted") {
                try harness.metric("xy_ws_connections_refused_total", labels: "limit=\"address\"") ?? 0 >= 1
            }
            #expect(harness.gateway.log.contains("\"code\":\"XYW006\""))
        }
    }

    @Test("per-subject cap: a third connection of one token subject gets 429 XYW006, another subject gets in, and a close of either kind admits it")
    func perSubjectCap() async throws {
        try await withHarness(["WS_MAX_CONNECTIONS_PER_SUBJECT": "2"]) { harness in
            let alice = try await harness.token(sub: "alice")
            let first = try await harness.connect(token: alice)
            let second = try await harness.connect(token: alice)
            #expect(first.response.status == 101 && second.response.status == 101)
            let refused = try await harness.connect(token: alice)
            #expect(refused.response.status == 429)
            let body = try JSONSerialization.jsonObject(with: Data(refused.response.body.utf8)) as? [String: Any]
            #expect(body?["code"] as? String == "XYW006")
            #expect((body?["message"] as? String)?.contains("user") == true)
            let bob = try await harness.connect(token: try await harness.token(sub: "bob"))
            #expect(bob.response.status == 101, "another subject has its own count")

            await first.close()
            let third = try await connectEventually(harness, token: alice, "after a WebSocket close")
            // A client that vanishes without a close frame frees its place too.
            try await second.channel.close()
            let fourth = try await connectEventually(harness, token: alice, "after the socket dropped")
            try await expectAlive(fourth, "fourth")
            for client in [third, fourth, bob] { await client.close() }
            try await harness.eventually("the refusal counted") {
                try harness.metric("xy_ws_connections_refused_total", labels: "limit=\"subject\"") ?? 0 >= 1
            }
        }
    }

    @Test("behind a trusted proxy each client is counted under the rightmost X-Forwarded-For entry, and its session events carry that address")
    func trustedProxy() async throws {
        try await withHarness(["WS_MAX_CONNECTIONS_PER_ADDRESS": "1", "WS_TRUSTED_PROXIES": "127.0.0.0/8"]) { harness in
            let addresses = NIOLockedValueBox<[String]>([])
            let events = try harness.client.subscribe("xy.session.connected") { message in
                guard let event = try? Xy_Session_V1_SessionEvent(serializedBytes: Array(message.payload.readableBytesView)) else { return }
                addresses.withLockedValue { $0.append(event.remoteAddress) }
            }
            try await harness.client.flush()
            let token = try await harness.token()
            func through(_ forwarded: String) async throws -> WebSocketConnection {
                try await harness.connect(token: token, extraHeaders: [("X-Forwarded-For", forwarded)])
            }
            let first = try await through("203.0.113.1")
            let second = try await through("203.0.113.2")
            #expect(first.response.status == 101 && second.response.status == 101, "two clients behind one proxy address")
            let spoofed = try await through("198.51.100.1, 203.0.113.1")
            #expect(spoofed.response.status == 429, "the entry the client wrote is not its address")
            try await harness.eventually("both sessions published with the client's address") {
                addresses.withLockedValue { Set($0) } == ["203.0.113.1", "203.0.113.2"]
            }
            await first.close()
            let again = try await connectEventually(harness, token: token, extraHeaders: [("X-Forwarded-For", "203.0.113.1")], "the forwarded client's place")
            for client in [second, again] { await client.close() }
            try events.unsubscribe()
        }
    }

    /// Upgrades with `token` until the gateway answers 101 (a close frees its place
    /// asynchronously); fails after the harness's deadline.
    /// An attempt over the cap, answered (429): one closed before its answer on a loaded machine is tried again.
    private func refusedEventually(_ harness: GatewayHarness, token: String) async throws -> WebSocketConnection {
        for _ in 0..<20 {
            if let attempt = try? await harness.connect(token: token) { return attempt }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try await harness.connect(token: token)
    }

    private func connectEventually(
        _ harness: GatewayHarness, token: String, extraHeaders: [(String, String)] = [], _ what: String
    ) async throws -> WebSocketConnection {
        var admitted: WebSocketConnection?
        let deadline = ContinuousClock.now + .seconds(30)
        while admitted == nil && ContinuousClock.now < deadline {
            // An attempt over the cap may also be closed before its answer (its short request
            // deadline passed on a loaded machine): that is a refusal too; try again.
            guard let attempt = try? await harness.connect(token: token, extraHeaders: extraHeaders) else {
                try await Task.sleep(for: .milliseconds(50))
                continue
            }
            if attempt.response.status == 101 {
                admitted = attempt
            } else {
                #expect(attempt.response.status == 429, "\(what): only the cap may refuse")
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        guard let admitted else { throw ManagedProcessError("never admitted: \(what)") }
        return admitted
    }
}

import NIOCore
import Testing

@testable import NATS

@Suite("NATS connection state machine")
struct NATSConnectionStateMachineTests {
    typealias Machine = NATSConnectionStateMachine

    static func info(tls: Bool = false, lameDuck: Bool = false) throws -> NATSServerInfo {
        try NATSServerInfo.decode(#"{"server_id":"S1","max_payload":1048576,"tls_required":\#(tls),"ldm":\#(lameDuck)}"#)
    }

    static func configuration(maxReconnectAttempts: Int = 3, allowReconnect: Bool = true) -> Machine.Configuration {
        var configuration = Machine.Configuration(NATSClientOptions())
        configuration.maxReconnectAttempts = maxReconnectAttempts
        configuration.allowReconnect = allowReconnect
        configuration.reconnectWaitInitial = .milliseconds(50)
        configuration.reconnectWaitMax = .milliseconds(400)
        configuration.reconnectJitter = 0.2
        configuration.maxPingsOutstanding = 2
        return configuration
    }

    /// A machine whose jitter draw sits in the middle, so delays come out exact.
    static func machine(maxReconnectAttempts: Int = 3, allowReconnect: Bool = true) -> Machine {
        Machine(configuration: configuration(maxReconnectAttempts: maxReconnectAttempts, allowReconnect: allowReconnect), random: { 0.5 })
    }

    /// Runs a plain handshake on the socket the last action opened; returns its id.
    static func handshake(_ machine: inout Machine, _ action: Machine.LifecycleAction, isReconnect: Bool = false) throws -> Int {
        guard case .openSocket(let id) = action else {
            Issue.record("expected openSocket, got \(action)")
            return -1
        }
        let info = try info()
        #expect(machine.infoReceived(id: id, info: info, wantsTLS: false) == .sendConnect(info, tls: false))
        #expect(machine.pongReceived(id: id) == .handshakeCompleted(info, isReconnect: isReconnect, lameDuck: false))
        #expect(machine.state == .connected(id: id, lameDuck: false))
        return id
    }

    @Test("handshake: INFO → CONNECT + PING, a PING before the PONG is answered, PONG completes; then MSG, PING, PONG, +OK")
    func plainHandshake() throws {
        var machine = Self.machine()
        #expect(machine.state == .idle)
        #expect(machine.start(servers: 2) == .openSocket(id: 1))
        let info = try Self.info()
        #expect(machine.infoReceived(id: 1, info: info, wantsTLS: false) == .sendConnect(info, tls: false))
        #expect(machine.pingReceived(id: 1) == .sendPong)
        #expect(machine.okReceived(id: 1) == .none)
        #expect(!machine.isConnected)
        #expect(machine.pongReceived(id: 1) == .handshakeCompleted(info, isReconnect: false, lameDuck: false))
        #expect(machine.isConnected)
        #expect(machine.connectionID == 1)
        #expect(machine.messageReceived(id: 1) == .deliver)
        #expect(machine.pingReceived(id: 1) == .sendPong)
        #expect(machine.pongReceived(id: 1) == .completeFlush)
        #expect(machine.okReceived(id: 1) == .none)
        // A second start changes nothing.
        #expect(machine.start(servers: 2) == .none)
    }

    @Test("TLS: asked for by the server's INFO or by the options, CONNECT only after the TLS handshake")
    func tlsUpgrade() throws {
        var machine = Self.machine()
        _ = machine.start(servers: 1)
        let tlsInfo = try Self.info(tls: true)
        #expect(machine.infoReceived(id: 1, info: tlsInfo, wantsTLS: false) == .upgradeTLS)
        #expect(machine.state == .connecting(.init(id: 1, purpose: .initial(serversLeft: 1), handshake: .upgradingTLS(tlsInfo))))
        #expect(machine.tlsEstablished(id: 1) == .sendConnect(tlsInfo, tls: true))
        #expect(machine.tlsEstablished(id: 1) == .none)
        #expect(machine.pongReceived(id: 1) == .handshakeCompleted(tlsInfo, isReconnect: false, lameDuck: false))

        var wanted = Self.machine()
        _ = wanted.start(servers: 1)
        let plainInfo = try Self.info()
        #expect(wanted.infoReceived(id: 1, info: plainInfo, wantsTLS: true) == .upgradeTLS)
        // Plain-text data while TLS is being set up breaks the handshake; the only server is gone.
        guard case .failHandshake(let error, then: .failInitialConnect) = wanted.pingReceived(id: 1) else {
            Issue.record("expected the handshake to fail")
            return
        }
        #expect(error.code == .protocolError)
        #expect(wanted.state == .closed)
    }

    @Test("-ERR 'Authorization Violation' during the handshake stops the first connection at once, whatever servers are left")
    func authorizationViolationDuringHandshake() throws {
        var machine = Self.machine()
        _ = machine.start(servers: 3)
        _ = machine.infoReceived(id: 1, info: try Self.info(), wantsTLS: false)
        let action = machine.errorReceived(id: 1, text: "Authorization Violation")
        let refused = NATSError(.authorizationViolation, "server refused the credentials: Authorization Violation")
        #expect(action == .failHandshake(refused, then: .failInitialConnect(refused)))
        #expect(machine.state == .closed)
    }

    @Test("another -ERR during the handshake moves on to the next server; the last one gives up")
    func otherErrorDuringHandshake() throws {
        var machine = Self.machine()
        _ = machine.start(servers: 2)
        _ = machine.infoReceived(id: 1, info: try Self.info(), wantsTLS: false)
        let busy = NATSError(.serverError, "maximum connections exceeded")
        #expect(machine.errorReceived(id: 1, text: "maximum connections exceeded") == .failHandshake(busy, then: .openSocket(id: 2)))
        #expect(machine.socketFailed(id: 2, error: NATSError(.connectFailed, "refused")) == .failInitialConnect(NATSError(.connectFailed, "refused")))
        #expect(machine.state == .closed)
    }

    @Test("anything but INFO first, or MSG before the PONG, fails the handshake as a protocol error")
    func outOfOrder() throws {
        var machine = Self.machine()
        _ = machine.start(servers: 5)
        guard case .failHandshake(let first, then: .openSocket(id: 2)) = machine.pingReceived(id: 1) else {
            Issue.record("expected the handshake to fail and the next server to be tried")
            return
        }
        #expect(first == NATSError(.protocolError, "expected INFO first"))
        _ = machine.infoReceived(id: 2, info: try Self.info(), wantsTLS: false)
        guard case .failHandshake(let second, then: .openSocket(id: 3)) = machine.messageReceived(id: 2) else {
            Issue.record("expected MSG before PONG to fail the handshake")
            return
        }
        #expect(second.code == .protocolError)
    }

    @Test("the server closing mid-handshake tries the next server; on a reconnect it schedules the next attempt")
    func closedMidHandshake() throws {
        var machine = Self.machine()
        _ = machine.start(servers: 2)
        _ = machine.infoReceived(id: 1, info: try Self.info(), wantsTLS: false)
        #expect(machine.socketClosed(id: 1, reason: "EOF") == .handshakeFailed(.openSocket(id: 2)))
        // The closed socket's late events are answered by closing it, and change nothing.
        guard case .failHandshake(_, then: .none) = machine.pongReceived(id: 1) else {
            Issue.record("a stale socket's PONG must only close it")
            return
        }
        let id = try Self.handshake(&machine, .openSocket(id: 2))
        #expect(machine.socketClosed(id: id, reason: "EOF") == .connectionLost(.scheduleReconnect(after: .zero)))
        guard case .openSocket(let reconnectID) = machine.reconnectDue() else {
            Issue.record("expected a reconnect attempt")
            return
        }
        _ = machine.infoReceived(id: reconnectID, info: try Self.info(), wantsTLS: false)
        #expect(machine.socketClosed(id: reconnectID, reason: "EOF") == .handshakeFailed(.scheduleReconnect(after: .milliseconds(50))))
        #expect(machine.state == .waitingToReconnect(attempt: 2))
    }

    @Test("reconnect: backoff doubles from the initial wait, is capped, and gives up after maxReconnectAttempts")
    func reconnectBackoff() throws {
        var machine = Self.machine(maxReconnectAttempts: 5)
        let id = try Self.handshake(&machine, machine.start(servers: 1))
        #expect(machine.socketClosed(id: id, reason: "EOF") == .connectionLost(.scheduleReconnect(after: .zero)))
        var delays: [Int64] = []
        for _ in 0..<4 {
            guard case .openSocket(let attempt) = machine.reconnectDue() else {
                Issue.record("expected a reconnect attempt")
                return
            }
            guard case .scheduleReconnect(let delay) = machine.socketFailed(id: attempt, error: NATSError(.connectFailed, "refused")) else {
                Issue.record("expected another wait")
                return
            }
            delays.append(delay.nanoseconds / 1_000_000)
        }
        #expect(delays == [50, 100, 200, 400])
        guard case .openSocket(let last) = machine.reconnectDue() else {
            Issue.record("expected the last attempt")
            return
        }
        #expect(machine.socketFailed(id: last, error: NATSError(.connectFailed, "refused")) == .close(NATSError(.connectFailed, "gave up after 5 reconnect attempts")))
        #expect(machine.state == .closed)
        #expect(machine.reconnectDue() == .none)
    }

    @Test("a successful reconnect reports itself as one and starts the backoff over")
    func reconnectSucceeds() throws {
        var machine = Self.machine()
        let first = try Self.handshake(&machine, machine.start(servers: 1))
        _ = machine.socketClosed(id: first, reason: "EOF")
        let second = try Self.handshake(&machine, machine.reconnectDue(), isReconnect: true)
        #expect(machine.socketClosed(id: second, reason: "EOF") == .connectionLost(.scheduleReconnect(after: .zero)))
        #expect(machine.state == .waitingToReconnect(attempt: 1))
    }

    @Test("without reconnects a lost connection closes the client with the reason")
    func noReconnect() throws {
        var machine = Self.machine(allowReconnect: false)
        let id = try Self.handshake(&machine, machine.start(servers: 1))
        #expect(machine.socketClosed(id: id, reason: "stale") == .connectionLost(.close(NATSError(.connectionClosed, "disconnected: stale"))))
        #expect(machine.state == .closed)
    }

    @Test("close during the reconnect wait: the timer then does nothing, and a second close is a no-op")
    func closeDuringReconnectWait() throws {
        var machine = Self.machine()
        let id = try Self.handshake(&machine, machine.start(servers: 1))
        _ = machine.socketClosed(id: id, reason: "EOF")
        #expect(machine.state == .waitingToReconnect(attempt: 1))
        let closed1 = machine.closeRequested()
        #expect(closed1)
        #expect(machine.reconnectDue() == .none)
        let closed2 = machine.closeRequested()
        #expect(!closed2)
        #expect(machine.state == .closed)
    }

    @Test("close during a handshake: the attempt's later events only close its socket")
    func closeDuringHandshake() throws {
        var machine = Self.machine()
        _ = machine.start(servers: 1)
        #expect(machine.infoReceived(id: 1, info: try Self.info(), wantsTLS: false) != .none)
        let closed3 = machine.closeRequested()
        #expect(closed3)
        guard case .failHandshake(_, then: .none) = machine.pongReceived(id: 1) else {
            Issue.record("expected the socket to be closed")
            return
        }
        #expect(machine.socketFailed(id: 1, error: NATSError(.timeout, "late")) == .none)
        #expect(machine.socketClosed(id: 1, reason: "closed") == .none)
    }

    @Test("lame duck: announced once, kept across INFOs, the server's close then reconnects; a close then ends it")
    func lameDuckThenClose() throws {
        var machine = Self.machine()
        let id = try Self.handshake(&machine, machine.start(servers: 2))
        let lameDuck = try Self.info(lameDuck: true)
        #expect(machine.infoReceived(id: id, info: lameDuck, wantsTLS: false) == .updateInfo(lameDuck, lameDuckStarted: true))
        #expect(machine.infoReceived(id: id, info: lameDuck, wantsTLS: false) == .updateInfo(lameDuck, lameDuckStarted: false))
        #expect(machine.state == .connected(id: id, lameDuck: true))
        let closed4 = machine.closeRequested()
        #expect(closed4)
        #expect(machine.socketClosed(id: id, reason: "EOF") == .none)

        var reconnecting = Self.machine()
        let other = try Self.handshake(&reconnecting, reconnecting.start(servers: 2))
        _ = reconnecting.infoReceived(id: other, info: lameDuck, wantsTLS: false)
        #expect(reconnecting.socketClosed(id: other, reason: "server shutdown") == .connectionLost(.scheduleReconnect(after: .zero)))
    }

    @Test("a handshake INFO that already announces lame duck says so when it completes")
    func lameDuckAtHandshake() throws {
        var machine = Self.machine()
        _ = machine.start(servers: 1)
        let lameDuck = try Self.info(lameDuck: true)
        _ = machine.infoReceived(id: 1, info: lameDuck, wantsTLS: false)
        #expect(machine.pongReceived(id: 1) == .handshakeCompleted(lameDuck, isReconnect: false, lameDuck: true))
        #expect(machine.infoReceived(id: 1, info: lameDuck, wantsTLS: false) == .updateInfo(lameDuck, lameDuckStarted: false))
    }

    @Test("draining: a loss ends the client instead of reconnecting; drain before the connection applies to it")
    func draining() throws {
        var machine = Self.machine()
        let id = try Self.handshake(&machine, machine.start(servers: 1))
        machine.drainStarted()
        #expect(machine.state == .draining(id: id))
        #expect(machine.isConnected)
        #expect(machine.messageReceived(id: id) == .deliver)
        #expect(machine.pongReceived(id: id) == .completeFlush)
        #expect(machine.socketClosed(id: id, reason: "EOF") == .connectionLost(.close(NATSError(.connectionClosed, "disconnected while draining: EOF"))))
        #expect(machine.state == .closed)

        var early = Self.machine()
        let first = try Self.handshake(&early, early.start(servers: 1))
        _ = early.socketClosed(id: first, reason: "EOF")
        early.drainStarted()
        guard case .openSocket(let next) = early.reconnectDue() else {
            Issue.record("expected a reconnect attempt")
            return
        }
        let info = try Self.info()
        _ = early.infoReceived(id: next, info: info, wantsTLS: false)
        #expect(early.pongReceived(id: next) == .handshakeCompleted(info, isReconnect: true, lameDuck: false))
        #expect(early.state == .draining(id: next))
    }

    @Test("keep-alive: PINGs until maxPingsOutstanding go unanswered, then the socket is stale; a PONG resets the count")
    func keepAlive() throws {
        var machine = Self.machine()
        #expect(machine.pingTimerFired() == .none)
        let id = try Self.handshake(&machine, machine.start(servers: 1))
        #expect(machine.pingTimerFired() == .sendPing)
        #expect(machine.pingTimerFired() == .sendPing)
        #expect(machine.pingTimerFired() == .closeStale(outstanding: 2))
        #expect(machine.pongReceived(id: id) == .completeFlush)
        #expect(machine.pingTimerFired() == .sendPing)
    }

    @Test("-ERR on a live connection: permissions reported, stale connection reconnects, authorization closes")
    func serverErrors() throws {
        var machine = Self.machine()
        let id = try Self.handshake(&machine, machine.start(servers: 1))
        let permissions = "Permissions Violation for Publish to \"secret\""
        #expect(machine.errorReceived(id: id, text: permissions) == .serverError(permissions, .report))
        #expect(machine.errorReceived(id: id, text: "Stale Connection") == .serverError("Stale Connection", .reconnect))
        #expect(machine.errorReceived(id: id, text: "Maximum Subscriptions Exceeded") == .serverError("Maximum Subscriptions Exceeded", .report))
        #expect(machine.isConnected)
        let refused = NATSError(.authorizationViolation, "server refused the credentials: Authorization Violation")
        #expect(machine.errorReceived(id: id, text: "Authorization Violation") == .serverError("Authorization Violation", .close(refused)))
        #expect(machine.state == .closed)
    }

    @Test("a parse error on a live connection closes the socket; the loss then reconnects")
    func protocolViolation() throws {
        var machine = Self.machine()
        let id = try Self.handshake(&machine, machine.start(servers: 1))
        let bad = NATSError(.protocolError, "control line too long")
        #expect(machine.protocolViolation(id: id, error: bad) == .closeSocket(bad))
        #expect(machine.socketClosed(id: id, reason: "\(bad)") == .connectionLost(.scheduleReconnect(after: .zero)))
    }

    @Test("the first connection tries each server once, then fails with the last error; no server fails at once")
    func initialConnectExhausted() {
        var machine = Self.machine()
        #expect(machine.start(servers: 3) == .openSocket(id: 1))
        let refused = NATSError(.connectFailed, "refused")
        #expect(machine.socketFailed(id: 1, error: refused) == .openSocket(id: 2))
        // A timer of an earlier socket changes nothing.
        #expect(machine.socketFailed(id: 1, error: NATSError(.timeout, "late")) == .none)
        #expect(machine.socketFailed(id: 2, error: NATSError(.timeout, "slow")) == .openSocket(id: 3))
        #expect(machine.socketFailed(id: 3, error: refused) == .failInitialConnect(refused))

        var empty = Self.machine()
        #expect(empty.start(servers: 0) == .failInitialConnect(NATSError(.connectFailed, "no server")))
    }

    @Test("reconnect delay: jitter scales within ±jitter around the backoff, and none for the first attempt")
    func reconnectDelay() {
        func delay(_ attempt: Int, _ random: Double) -> Int64 {
            Machine.reconnectDelay(attempt: attempt, initial: .milliseconds(100), maximum: .seconds(1), jitter: 0.2, random: random).nanoseconds / 1_000_000
        }
        #expect(delay(1, 0.99) == 0)
        #expect(delay(2, 0) == 80)
        #expect(delay(2, 0.5) == 100)
        #expect(delay(3, 1) == 240)
        #expect(delay(40, 0.5) == 1000)
    }
}

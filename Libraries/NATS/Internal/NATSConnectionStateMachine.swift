import NIOCore
import XYCore

/// Every decision about a client's connection, as a value with no I/O: which socket to open and
/// when, each step of its handshake (INFO → optional TLS → CONNECT + PING → PONG), what a server
/// operation means in each state, keep-alive PINGs, lame duck mode, reconnecting with backoff,
/// draining and closing. ``NATSChannelHandler`` (handshake and inbound operations) and
/// `NATSClient+Lifecycle` (sockets and timers) feed it events on the event loop and perform the
/// actions it returns, so each rule is tested with plain values.
///
/// Sockets are known by an id the machine hands out with ``LifecycleAction/openSocket(id:)``: an
/// event from any other socket (one the client gave up on) is answered by closing that socket.
struct NATSConnectionStateMachine {
    /// Where one socket is in the handshake.
    enum Handshake: Equatable {
        case awaitingInfo
        /// Waiting for the TLS handshake the INFO (or the options) asked for.
        case upgradingTLS(NATSServerInfo)
        /// CONNECT and PING are written; the PONG says the server accepted them.
        case awaitingPong(NATSServerInfo)
    }

    /// Why a socket is being opened: the first connection tries each server once; a reconnect
    /// counts its attempts against `maxReconnectAttempts`.
    enum Purpose: Hashable {
        case initial(serversLeft: Int)
        case reconnect(attempt: Int)
    }

    /// The socket being opened and how far its handshake got.
    struct Attempt: Equatable {
        var id: Int
        var purpose: Purpose
        var handshake: Handshake
    }

    enum State: Equatable {
        case idle
        case connecting(Attempt)
        case connected(id: Int, lameDuck: Bool)
        /// The connection was lost; the reconnect timer runs before attempt `attempt`.
        case waitingToReconnect(attempt: Int)
        /// `drain()` runs on this connection: its loss ends the client instead of reconnecting.
        case draining(id: Int)
        case closed
    }

    /// What the lifecycle does next (after a start, a failed socket, a lost connection, a timer).
    enum LifecycleAction: Equatable {
        case none
        /// Open a socket to the next server of the pool now; its handler reports as `id`.
        case openSocket(id: Int)
        /// Run the reconnect timer, then report ``reconnectDue()``.
        case scheduleReconnect(after: TimeAmount)
        /// The first connection failed on every server (or was refused): `connect` fails with it.
        case failInitialConnect(NATSError)
        /// The client ends with this error (no reconnect allowed, attempts used up, drain cut short).
        case close(NATSError)
    }

    /// What a `-ERR` on a live connection calls for.
    enum ServerErrorResponse: Equatable {
        /// Report it (permissions violations also go to the subscription or request they name).
        case report
        /// The server closes after it (stale connection, expired credentials, limits): report it
        /// and replace the socket, as nats.go does.
        case reconnect
        /// Fatal (credentials refused): the client closes with this error.
        case close(NATSError)
    }

    /// What the handler does with one operation from the server.
    enum InboundAction: Equatable {
        case none
        /// Write CONNECT (with `tls` in its options) and a PING.
        case sendConnect(NATSServerInfo, tls: Bool)
        /// Put a TLS client handler in front and wait for ``tlsEstablished(id:)``.
        case upgradeTLS
        case sendPong
        /// The handshake is done: install the socket (resubscribe, send what is buffered).
        case handshakeCompleted(NATSServerInfo, isReconnect: Bool, lameDuck: Bool)
        /// Close this socket; the lifecycle goes on with `then` (already decided).
        case failHandshake(NATSError, then: LifecycleAction)
        /// Hand the message to its subscription.
        case deliver
        /// A PONG on a live connection: complete the oldest flush waiting for one.
        case completeFlush
        /// A new INFO on a live connection; `lameDuckStarted` when it first announces lame duck mode.
        case updateInfo(NATSServerInfo, lameDuckStarted: Bool)
        case serverError(String, ServerErrorResponse)
        /// A live connection broke the protocol: close it (its loss then arrives as ``socketClosed(id:reason:)``).
        case closeSocket(NATSError)
    }

    /// What the end of a socket means.
    enum SocketClosedAction: Equatable {
        /// Not the client's socket (any more): nothing to do.
        case none
        /// It closed during its handshake; the lifecycle goes on with the action.
        case handshakeFailed(LifecycleAction)
        /// The live connection is gone: fail what waited on it, report it, then the action.
        case connectionLost(LifecycleAction)
    }

    /// What the keep-alive timer does.
    enum PingAction: Equatable {
        case none
        case sendPing
        /// Too many PINGs without a PONG: the link is dead even if TCP has not noticed. Close the socket.
        case closeStale(outstanding: Int)
    }

    /// The options that shape decisions, copied out of ``NATSClientOptions`` (whose defaults are
    /// the only ones).
    struct Configuration: Equatable {
        var allowReconnect: Bool
        /// -1 retries forever.
        var maxReconnectAttempts: Int
        var reconnectWaitInitial: TimeAmount
        var reconnectWaitMax: TimeAmount
        var reconnectJitter: Double
        var maxPingsOutstanding: Int

        init(_ options: NATSClientOptions) {
            allowReconnect = options.allowReconnect
            maxReconnectAttempts = options.maxReconnectAttempts
            reconnectWaitInitial = options.reconnectWaitInitial
            reconnectWaitMax = options.reconnectWaitMax
            reconnectJitter = options.reconnectJitter
            maxPingsOutstanding = options.maxPingsOutstanding
        }
    }

    private(set) var state: State = .idle
    let configuration: Configuration
    /// Draws the jitter of each reconnect delay, in 0..<1; tests pass a constant.
    private let random: () -> Double
    private var nextID = 1
    private var pingsOutstanding = 0
    /// `drain()` began while no connection was up: the next connection drains.
    private var drainRequested = false

    init(configuration: Configuration, random: @escaping () -> Double = { Double.random(in: 0..<1) }) {
        self.configuration = configuration
        self.random = random
    }

    /// True while publishes may be written to a socket (connected or draining).
    var isConnected: Bool {
        switch state {
        case .connected, .draining: true
        case .idle, .connecting, .waitingToReconnect, .closed: false
        }
    }

    /// The id of the live socket, if any.
    var connectionID: Int? {
        switch state {
        case .connected(let id, _), .draining(let id): id
        case .idle, .connecting, .waitingToReconnect, .closed: nil
        }
    }

    // MARK: lifecycle events

    /// `connect` was called with `servers` servers in the pool: try the first.
    mutating func start(servers: Int) -> LifecycleAction {
        switch state {
        case .idle:
            guard servers > 0 else {
                state = .closed
                return .failInitialConnect(NATSError(.connectFailed, "no server"))
            }
            return open(.initial(serversLeft: servers))
        case .connecting, .connected, .waitingToReconnect, .draining, .closed:
            return .none
        }
    }

    /// Socket `id` failed before its handshake completed: refused, timed out, TLS failed, or the
    /// server rejected CONNECT. The next server is tried, or the next reconnect scheduled.
    mutating func socketFailed(id: Int, error: NATSError) -> LifecycleAction {
        guard case .connecting(let attempt) = state, attempt.id == id else { return .none }
        switch attempt.purpose {
        case .initial(let serversLeft):
            // Refused credentials will be refused by every server: stop at once.
            if serversLeft <= 1 || error.code == .authorizationViolation {
                state = .closed
                return .failInitialConnect(error)
            }
            return open(.initial(serversLeft: serversLeft - 1))
        case .reconnect(let attemptNumber):
            return planReconnect(attempt: attemptNumber + 1)
        }
    }

    /// The reconnect timer fired.
    mutating func reconnectDue() -> LifecycleAction {
        switch state {
        case .waitingToReconnect(let attempt):
            return open(.reconnect(attempt: attempt))
        case .idle, .connecting, .connected, .draining, .closed:
            return .none
        }
    }

    /// Socket `id` closed; `reason` is why, as far as the client knows.
    mutating func socketClosed(id: Int, reason: String) -> SocketClosedAction {
        switch state {
        case .connecting(let attempt) where attempt.id == id:
            return .handshakeFailed(socketFailed(id: id, error: NATSError(.connectFailed, "the server closed the connection during the handshake")))
        case .connected(let current, _) where current == id:
            guard configuration.allowReconnect else {
                state = .closed
                return .connectionLost(.close(NATSError(.connectionClosed, "disconnected: \(reason)")))
            }
            return .connectionLost(planReconnect(attempt: 1))
        case .draining(let current) where current == id:
            state = .closed
            return .connectionLost(.close(NATSError(.connectionClosed, "disconnected while draining: \(reason)")))
        case .idle, .connecting, .connected, .waitingToReconnect, .draining, .closed:
            return .none
        }
    }

    /// The keep-alive timer fired.
    mutating func pingTimerFired() -> PingAction {
        switch state {
        case .connected, .draining:
            if pingsOutstanding >= configuration.maxPingsOutstanding { return .closeStale(outstanding: pingsOutstanding) }
            pingsOutstanding += 1
            return .sendPing
        case .idle, .connecting, .waitingToReconnect, .closed:
            return .none
        }
    }

    /// `drain()` began: from now on losing the connection ends the client.
    mutating func drainStarted() {
        switch state {
        case .connected(let id, _):
            state = .draining(id: id)
        case .idle, .connecting, .waitingToReconnect:
            drainRequested = true
        case .draining, .closed:
            break
        }
    }

    /// `close()` (or a fatal error): returns false when the client was already closed.
    mutating func closeRequested() -> Bool {
        switch state {
        case .closed:
            return false
        case .idle, .connecting, .connected, .waitingToReconnect, .draining:
            state = .closed
            return true
        }
    }

    // MARK: server operations on socket `id`

    /// An INFO; `wantsTLS` says whether the options or the address ask for TLS on their own.
    mutating func infoReceived(id: Int, info: NATSServerInfo, wantsTLS: Bool) -> InboundAction {
        switch state {
        case .connecting(var attempt) where attempt.id == id:
            switch attempt.handshake {
            case .awaitingInfo:
                if info.tlsRequired == true || wantsTLS {
                    attempt.handshake = .upgradingTLS(info)
                    state = .connecting(attempt)
                    return .upgradeTLS
                }
                attempt.handshake = .awaitingPong(info)
                state = .connecting(attempt)
                return .sendConnect(info, tls: false)
            case .upgradingTLS:
                return failHandshake(NATSError(.protocolError, "data before the TLS handshake completed"))
            case .awaitingPong:
                return .none
            }
        case .connected(let current, let lameDuck) where current == id:
            let started = info.lameDuckMode == true && !lameDuck
            state = .connected(id: id, lameDuck: lameDuck || started)
            return .updateInfo(info, lameDuckStarted: started)
        case .draining(let current) where current == id:
            return .updateInfo(info, lameDuckStarted: false)
        case .idle, .connecting, .connected, .waitingToReconnect, .draining, .closed:
            return notOurs()
        }
    }

    /// The TLS handshake asked for by ``InboundAction/upgradeTLS`` completed.
    mutating func tlsEstablished(id: Int) -> InboundAction {
        guard case .connecting(var attempt) = state, attempt.id == id else { return notOurs() }
        switch attempt.handshake {
        case .upgradingTLS(let info):
            attempt.handshake = .awaitingPong(info)
            state = .connecting(attempt)
            return .sendConnect(info, tls: true)
        case .awaitingInfo, .awaitingPong:
            return .none
        }
    }

    mutating func pongReceived(id: Int) -> InboundAction {
        switch state {
        case .connecting(let attempt) where attempt.id == id:
            switch attempt.handshake {
            case .awaitingPong(let info):
                let lameDuck = info.lameDuckMode == true
                state = drainRequested ? .draining(id: id) : .connected(id: id, lameDuck: lameDuck)
                drainRequested = false
                pingsOutstanding = 0
                let isReconnect: Bool
                switch attempt.purpose {
                case .initial: isReconnect = false
                case .reconnect: isReconnect = true
                }
                return .handshakeCompleted(info, isReconnect: isReconnect, lameDuck: lameDuck)
            case .awaitingInfo, .upgradingTLS:
                return handshakeOutOfOrder(attempt.handshake)
            }
        case .connected(let current, _) where current == id, .draining(let current) where current == id:
            pingsOutstanding = 0
            return .completeFlush
        case .idle, .connecting, .connected, .waitingToReconnect, .draining, .closed:
            return notOurs()
        }
    }

    mutating func pingReceived(id: Int) -> InboundAction {
        switch state {
        case .connecting(let attempt) where attempt.id == id:
            switch attempt.handshake {
            case .awaitingPong: return .sendPong
            case .awaitingInfo, .upgradingTLS: return handshakeOutOfOrder(attempt.handshake)
            }
        case .connected(let current, _) where current == id, .draining(let current) where current == id:
            return .sendPong
        case .idle, .connecting, .connected, .waitingToReconnect, .draining, .closed:
            return notOurs()
        }
    }

    mutating func okReceived(id: Int) -> InboundAction {
        switch state {
        case .connecting(let attempt) where attempt.id == id:
            switch attempt.handshake {
            case .awaitingPong: return .none
            case .awaitingInfo, .upgradingTLS: return handshakeOutOfOrder(attempt.handshake)
            }
        case .connected(let current, _) where current == id, .draining(let current) where current == id:
            return .none
        case .idle, .connecting, .connected, .waitingToReconnect, .draining, .closed:
            return notOurs()
        }
    }

    /// A MSG or HMSG.
    mutating func messageReceived(id: Int) -> InboundAction {
        switch state {
        case .connecting(let attempt) where attempt.id == id:
            switch attempt.handshake {
            case .awaitingPong: return failHandshake(NATSError(.protocolError, "MSG before the handshake completed"))
            case .awaitingInfo, .upgradingTLS: return handshakeOutOfOrder(attempt.handshake)
            }
        case .connected(let current, _) where current == id, .draining(let current) where current == id:
            return .deliver
        case .idle, .connecting, .connected, .waitingToReconnect, .draining, .closed:
            return notOurs()
        }
    }

    /// A `-ERR`: during the handshake it fails the socket (credentials refused stop the first
    /// connection at once); on a live connection ``classify(serverError:)`` decides.
    mutating func errorReceived(id: Int, text: String) -> InboundAction {
        switch state {
        case .connecting(let attempt) where attempt.id == id:
            switch attempt.handshake {
            case .awaitingPong: return failHandshake(Self.error(forServerText: text))
            case .awaitingInfo, .upgradingTLS: return handshakeOutOfOrder(attempt.handshake)
            }
        case .connected(let current, _) where current == id, .draining(let current) where current == id:
            let response = Self.classify(serverError: text)
            switch response {
            case .close: state = .closed
            case .report, .reconnect: break
            }
            return .serverError(text, response)
        case .idle, .connecting, .connected, .waitingToReconnect, .draining, .closed:
            return notOurs()
        }
    }

    /// The live connection broke the protocol (a parse error): close it and let the loss reconnect.
    mutating func protocolViolation(id: Int, error: NATSError) -> InboundAction {
        switch state {
        case .connecting(let attempt) where attempt.id == id:
            return failHandshake(error)
        case .connected(let current, _) where current == id, .draining(let current) where current == id:
            return .closeSocket(error)
        case .idle, .connecting, .connected, .waitingToReconnect, .draining, .closed:
            return notOurs()
        }
    }

    // MARK: pure rules

    /// Backoff before reconnect attempt `attempt`: none for the first, then XYCore's `Backoff`
    /// doubling from `initial`, capped at `maximum`, scaled by up to ±`jitter` (`random` in 0..<1
    /// picks where), so every reconnecting part of xy follows one rule.
    static func reconnectDelay(attempt: Int, initial: TimeAmount, maximum: TimeAmount, jitter: Double, random: Double) -> TimeAmount {
        guard attempt > 1 else { return .zero }
        let spread: Backoff.Jitter = jitter > 0 ? .proportional(jitter) : .none
        let backoff = Backoff(initial: Duration(initial), cap: Duration(maximum), jitter: spread)
        return TimeAmount(backoff.delay(attempt: attempt - 2, unitRandom: random))
    }

    /// What a `-ERR` on a live connection calls for, from its text (the server's wording, as nats.go reads it).
    static func classify(serverError text: String) -> ServerErrorResponse {
        let lower = text.lowercased()
        if lower.hasPrefix("permissions violation") { return .report }
        if lower.hasPrefix("stale connection") || lower.contains("authentication expired")
            || lower.contains("maximum connections") || lower.contains("slow consumer") {
            return .reconnect
        }
        if lower.contains("authorization violation") { return .close(error(forServerText: text)) }
        // Anything else (e.g. "maximum subscriptions exceeded") is reported; if the server also
        // closes the socket, the usual reconnect follows.
        return .report
    }

    /// Maps `-ERR` text to an error code (authorization failures get their own).
    static func error(forServerText text: String) -> NATSError {
        let lower = text.lowercased()
        if lower.contains("authorization violation") || lower.contains("authentication") {
            return NATSError(.authorizationViolation, "server refused the credentials: \(text)")
        }
        if lower.hasPrefix("permissions violation") {
            return NATSError(.permissionsViolation, text)
        }
        return NATSError(.serverError, text)
    }

    // MARK: helpers

    private mutating func open(_ purpose: Purpose) -> LifecycleAction {
        let id = nextID
        nextID += 1
        state = .connecting(Attempt(id: id, purpose: purpose, handshake: .awaitingInfo))
        return .openSocket(id: id)
    }

    private mutating func planReconnect(attempt: Int) -> LifecycleAction {
        if configuration.maxReconnectAttempts >= 0, attempt > configuration.maxReconnectAttempts {
            state = .closed
            return .close(NATSError(.connectFailed, "gave up after \(configuration.maxReconnectAttempts) reconnect attempts"))
        }
        state = .waitingToReconnect(attempt: attempt)
        return .scheduleReconnect(after: Self.reconnectDelay(
            attempt: attempt, initial: configuration.reconnectWaitInitial, maximum: configuration.reconnectWaitMax,
            jitter: configuration.reconnectJitter, random: random()
        ))
    }

    /// The current attempt's handshake failed: close its socket and decide what follows.
    private mutating func failHandshake(_ error: NATSError) -> InboundAction {
        guard case .connecting(let attempt) = state else { return .failHandshake(error, then: .none) }
        return .failHandshake(error, then: socketFailed(id: attempt.id, error: error))
    }

    private mutating func handshakeOutOfOrder(_ handshake: Handshake) -> InboundAction {
        switch handshake {
        case .awaitingInfo: failHandshake(NATSError(.protocolError, "expected INFO first"))
        case .upgradingTLS: failHandshake(NATSError(.protocolError, "data before the TLS handshake completed"))
        case .awaitingPong: failHandshake(NATSError(.protocolError, "unexpected operation during the handshake"))
        }
    }

    /// An event from a socket the client no longer uses: close it.
    private func notOurs() -> InboundAction {
        .failHandshake(NATSError(.connectionClosed, "not the client's current connection"), then: .none)
    }
}

import XYCore

/// The life of the vendor connection: connect, greet, authenticate, subscribe the whole interest
/// set, stream; on any failure pick the delay (exponential backoff with jitter, slow after
/// `auth_failed`, its own delay after `max_connections`) and start again. Interest changes while
/// streaming become subscribe/unsubscribe messages.
///
/// Pure: each event returns ``Action``s; ``UpstreamClient`` does the I/O. The API key never enters
/// it (``Action/authenticate`` asks the client to send it).
public struct UpstreamConnectionStateMachine: Sendable {
    public enum State: Sendable, Hashable {
        case idle
        case connecting
        /// Socket open, waiting for the vendor's `connected` status.
        case awaitingGreeting
        case authenticating
        /// Authenticated and subscribed; events flow.
        case streaming
        case waitingToReconnect
        case stopped
    }

    /// Why the last connection ended, which decides the delay and the log code.
    public enum Failure: Sendable, Hashable {
        case connectFailed
        case closed
        case authFailed
        case authTimeout
        case maxConnections
        case silent
        /// The vendor sent a message (its fragments together) over `UPSTREAM_MAX_MESSAGE_BYTES`.
        case messageTooLarge

        public var code: XYErrorCode {
            switch self {
            case .connectFailed, .closed: .upstreamDisconnected
            case .authFailed: .upstreamAuthFailed
            case .authTimeout: .upstreamProtocol
            case .maxConnections: .upstreamMaxConnections
            case .silent: .upstreamSilent
            case .messageTooLarge: .upstreamMessageTooLarge
            }
        }
    }

    /// What the client does for an event; actions that write reach the vendor in the order the
    /// machine returned them (``UpstreamClient`` has one writer per connection).
    public enum Action: Sendable, Hashable {
        /// Send `{"action":"auth","params":KEY}`.
        case authenticate
        /// Send this text frame (subscribe / unsubscribe).
        case send(String)
        /// Close the connection (its end then arrives as ``UpstreamConnectionStateMachine/connectionClosed(random:)``).
        case close(Failure)
        /// Upstream is up: gauge to 1, ready.
        case markUp
        /// Log this vendor status loudly with its code.
        case report(XYErrorCode, String)
    }

    /// When and why to reconnect.
    public struct ReconnectPlan: Sendable, Hashable {
        public var delay: Duration
        public var failure: Failure
    }

    public private(set) var state: State = .idle
    public private(set) var interest: UpstreamInterest
    public let channels: [String]
    /// The gateways' leases, which decide the part of the interest set that is not pinned.
    public private(set) var leases: UpstreamLeaseBook
    /// Symbols subscribed whatever the leases say: the configured ones and those asked for on
    /// `xy.ctl.upstream.subscribe`; they take the quota first.
    public private(set) var pinned: Set<String>
    private let backoff: Backoff
    /// Reconnects since the last authenticated session: the backoff attempt number.
    private var failedAttempts = 0
    private let authRetryDelay: Duration
    private let maxConnectionsRetryDelay: Duration
    private var pendingFailure: Failure?

    public init(configuration: UpstreamConfiguration) {
        interest = UpstreamInterest(symbols: configuration.symbols, maximum: configuration.maxSymbols)
        channels = configuration.channels
        let grace = configuration.leaseGrace.components
        leases = UpstreamLeaseBook(graceNanoseconds: grace.seconds * 1_000_000_000 + grace.attoseconds / 1_000_000_000)
        pinned = Set(interest.symbols)
        backoff = Backoff(initial: configuration.backoffInitial, cap: configuration.backoffMaximum, multiplier: 2, jitter: .equal)
        authRetryDelay = configuration.authRetryDelay
        maxConnectionsRetryDelay = configuration.maxConnectionsRetryDelay
    }

    /// A connection attempt begins.
    public mutating func connecting() {
        switch state {
        case .stopped: return
        case .idle, .connecting, .awaitingGreeting, .authenticating, .streaming, .waitingToReconnect:
            state = .connecting
            pendingFailure = nil
        }
    }

    /// The WebSocket handshake finished.
    public mutating func connectionOpened() {
        switch state {
        case .connecting: state = .awaitingGreeting
        case .idle, .awaitingGreeting, .authenticating, .streaming, .waitingToReconnect, .stopped: break
        }
    }

    /// A vendor `status` message.
    public mutating func statusReceived(status: String, message: String) -> [Action] {
        switch (status, state) {
        case ("connected", .awaitingGreeting):
            state = .authenticating
            return [.authenticate]
        case ("auth_success", .authenticating):
            state = .streaming
            failedAttempts = 0
            if let params = interest.params(channels: channels) {
                return [.markUp, .send(Self.message("subscribe", params))]
            }
            return [.markUp]
        case ("auth_failed", _):
            pendingFailure = .authFailed
            return [.report(.upstreamAuthFailed, "vendor refused the API key (auth_failed): \(message)"), .close(.authFailed)]
        case ("auth_timeout", _):
            pendingFailure = .authTimeout
            return [.report(.upstreamProtocol, "vendor timed out the authentication (auth_timeout)"), .close(.authTimeout)]
        case ("max_connections", _):
            pendingFailure = .maxConnections
            return [.report(.upstreamMaxConnections, "vendor refused the connection: too many connections for this key (max_connections)"), .close(.maxConnections)]
        case ("error", _):
            return [.report(.upstreamProtocol, "vendor error status: \(message)")]
        default:
            // `success` acknowledgements and greetings out of order change nothing.
            return []
        }
    }

    /// No frame for the silence timeout; only acted on while the connection should be talking.
    public mutating func silenceDetected() -> [Action] {
        switch state {
        case .streaming where interest.isWildcard || !interest.symbols.isEmpty, .awaitingGreeting, .authenticating:
            pendingFailure = .silent
            return [.close(.silent)]
        case .streaming, .idle, .connecting, .waitingToReconnect, .stopped:
            return []
        }
    }

    /// The vendor sent a message bigger than the client reassembles (`limit` bytes): the
    /// connection is closed (1009) and the next one starts over.
    public mutating func messageTooLarge(limit: Int) -> [Action] {
        switch state {
        case .awaitingGreeting, .authenticating, .streaming:
            pendingFailure = .messageTooLarge
            return [
                .report(.upstreamMessageTooLarge, "vendor message over \(limit) bytes (its fragments together); closing with 1009"),
                .close(.messageTooLarge),
            ]
        case .idle, .connecting, .waitingToReconnect, .stopped:
            return []
        }
    }

    /// The connection ended (or never opened when `opened` is false): plan the reconnect.
    public mutating func connectionClosed(opened: Bool, random: Double) -> ReconnectPlan? {
        if state == .stopped { return nil }
        let failure = pendingFailure ?? (opened ? .closed : .connectFailed)
        pendingFailure = nil
        state = .waitingToReconnect
        var delay = backoff.delay(attempt: failedAttempts, unitRandom: random)
        failedAttempts += 1
        switch failure {
        case .authFailed: delay = max(delay, authRetryDelay * (0.9 + 0.2 * random))
        case .maxConnections: delay = max(delay, maxConnectionsRetryDelay * (0.9 + 0.2 * random))
        case .connectFailed, .closed, .authTimeout, .silent, .messageTooLarge: break
        }
        return ReconnectPlan(delay: delay, failure: failure)
    }

    /// What leases changed in the interest set, for `xy.ctl.upstream.changed` and the metrics.
    public struct LeaseOutcome: Sendable, Hashable {
        public var added: [String] = []
        public var removed: [String] = []
        /// Leased symbols over the quota.
        public var refused: [String] = []
        /// Whether anything above differs from before (the refusals included).
        public var changed = false
        /// Gateway instances whose lease lapsed at this decision (they stopped renewing).
        public var lapsed: [String] = []
    }

    /// Symbols to add at run time (`xy.ctl.upstream.subscribe`); while streaming the new ones are
    /// subscribed at once. They are pinned: leases no longer decide about them.
    public mutating func subscribe(_ symbols: [String]) -> (UpstreamInterest.Change, [Action]) {
        let change = interest.add(symbols)
        guard !interest.isWildcard else { return (change, []) }
        for symbol in symbols.map({ $0.uppercased() }) where interest.contains(symbol) && !pinned.contains(symbol) {
            pinned.insert(symbol)
            leases.unpin(fromLeases: symbol)
        }
        return (change, changeActions("subscribe", change))
    }

    /// Symbols to drop at run time (`xy.ctl.upstream.unsubscribe`); one that a lease still wants
    /// stays subscribed, from then on as the leases decide (the request cannot take it from them).
    public mutating func unsubscribe(_ symbols: [String], now: Int64) -> (UpstreamInterest.Change, [Action]) {
        var dropped: [String] = []
        for raw in symbols {
            let symbol = raw.uppercased()
            let wasPinned = pinned.remove(symbol) != nil
            if !interest.isWildcard, leases.wants(symbol) {
                if wasPinned { leases.adopt(symbol, now: now) }
            } else {
                dropped.append(raw)
            }
        }
        let change = interest.remove(dropped)
        return (change, changeActions("unsubscribe", change))
    }

    /// A gateway's lease arrived: the interest set follows it at once (nil when the lease was
    /// older than the one held and dropped).
    public mutating func leaseReceived(_ lease: UpstreamLeaseBook.Lease, now: Int64) -> (LeaseOutcome?, [Action]) {
        guard leases.receive(lease, now: now) else { return (nil, []) }
        let (outcome, actions) = reconcileLeases(now: now)
        return (outcome, actions)
    }

    /// Time passed: leases not renewed lapse, and symbols leased by nobody for the grace period are
    /// unsubscribed.
    public mutating func leaseClockTicked(now: Int64) -> (LeaseOutcome, [Action]) {
        reconcileLeases(now: now)
    }

    /// The lease-driven part of the interest set made what the leases ask, within the room the
    /// pinned symbols leave; unsubscriptions are sent before subscriptions, freeing vendor quota first.
    private mutating func reconcileLeases(now: Int64) -> (LeaseOutcome, [Action]) {
        guard !interest.isWildcard else {
            // The vendor sends everything already; the leases are only kept up to date and counted.
            var outcome = LeaseOutcome()
            outcome.lapsed = leases.lapse(now: now).instances
            return (outcome, [])
        }
        let plan = leases.plan(now: now, pinned: pinned, capacity: interest.maximum - pinned.count)
        let removed = interest.remove(plan.remove)
        let added = interest.add(plan.add)
        var outcome = LeaseOutcome(added: added.changed, removed: removed.changed, refused: plan.refused)
        outcome.changed = !added.changed.isEmpty || !removed.changed.isEmpty || plan.refusedChanged
        outcome.lapsed = plan.lapsed
        return (outcome, changeActions("unsubscribe", removed) + changeActions("subscribe", added))
    }

    /// Shutting down: close if connected, never reconnect.
    public mutating func stop() -> [Action] {
        let wasConnected = state == .awaitingGreeting || state == .authenticating || state == .streaming
        state = .stopped
        return wasConnected ? [.close(.closed)] : []
    }

    private func changeActions(_ action: String, _ change: UpstreamInterest.Change) -> [Action] {
        guard state == .streaming, !change.changed.isEmpty, let params = interest.params(channels: channels, symbols: change.changed) else { return [] }
        return [.send(Self.message(action, params))]
    }

    /// `{"action":"subscribe","params":"T.AAPL,…"}`; symbols are validated tickers, so no escaping is needed.
    static func message(_ action: String, _ params: String) -> String {
        "{\"action\":\"\(action)\",\"params\":\"\(params)\"}"
    }
}

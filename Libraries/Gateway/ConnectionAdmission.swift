import NIOCore
import NIOHTTP1
import XYService

/// Why a connection was refused by a cap: answered 429 with `{"code":"XYW006","message"}`.
/// 429 rather than 503: the limit is this client's, the gateway is healthy and serving
/// others, and a load balancer must not take a 5xx as a sign to drain it.
struct ConnectionLimitRefusal: Error, Equatable, Sendable {
    let scope: ConnectionLimiter.Scope
    /// The cap that was reached.
    let limit: Int

    /// The message the client reads (the address or subject is not echoed).
    var message: String {
        switch scope {
        case .address: "too many connections from this address (at most \(limit))"
        case .subject: "too many connections for this user (at most \(limit))"
        }
    }
}

/// One connection's share of the ``ConnectionLimiter``: the address (and, once authenticated,
/// the subject) it is counted under. Event-loop confined; ``close()`` runs on the channel's
/// close future, so every way a connection ends gives its counts back, and nothing is counted
/// after it (an authentication that finishes after the client left takes no count).
final class ConnectionAdmission {
    private let limiter: ConnectionLimiter
    private let resolver: ClientAddressResolver
    /// The socket's peer (`""` when unknown).
    let peer: String
    private let peerIsProxy: Bool
    /// The address the connection is counted and logged under.
    private(set) var clientAddress: String
    private var countedAddress: String?
    private var countedSubject: String?
    /// Set when the peer's own address is over its cap (peers that are not proxies are
    /// counted at accept, so idle sockets count before they send a byte).
    private var refusedAtAccept: ConnectionLimitRefusal?
    private var closed = false
    private var releaseRegistered = false

    init(peer: String, limiter: ConnectionLimiter, resolver: ClientAddressResolver) {
        // One spelling per address: a dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d.
        let peer = IPAddressRange.canonical(peer) ?? peer
        self.limiter = limiter
        self.resolver = resolver
        self.peer = peer
        self.clientAddress = peer
        self.peerIsProxy = resolver.isTrustedProxy(peer)
        if !peerIsProxy {
            if limiter.acquire(.address, peer) {
                countedAddress = limiter.counts(.address) ? peer : nil
            } else {
                refusedAtAccept = ConnectionLimitRefusal(scope: .address, limit: limiter.cap(.address))
            }
        }
    }

    /// Whether the peer was already over its address cap when accepted: the connection will be
    /// refused at its first request, so it gets only a short time to send one.
    var isOverCapAtAccept: Bool {
        refusedAtAccept != nil
    }

    /// Called for each request: nil when the connection may go on, else the refusal. Behind a
    /// trusted proxy the address comes from the request's headers and is counted now (again
    /// when a kept-alive proxy connection carries another client's request).
    func admit(_ head: HTTPRequestHead) -> ConnectionLimitRefusal? {
        if let refusedAtAccept { return refusedAtAccept }
        guard peerIsProxy, !closed else { return nil }
        let address = resolver.clientAddress(peer: peer, headers: head.headers)
        clientAddress = address
        if countedAddress == address { return nil }
        return recount(.address, under: address, counted: &countedAddress)
    }

    /// Counts the connection under the token's subject once authenticated; the refusal when
    /// that subject is at its cap. A connection that already closed counts nothing (its upgrade
    /// cannot complete, and nothing would give the count back).
    func admit(subject: String) -> ConnectionLimitRefusal? {
        guard !closed else { return nil }
        return recount(.subject, under: subject, counted: &countedSubject)
    }

    /// Gives back the count `counted` holds in `scope`, then counts the connection under `value`;
    /// the refusal when `value` is at its cap (then nothing stays counted in the scope).
    private func recount(_ scope: ConnectionLimiter.Scope, under value: String, counted: inout String?) -> ConnectionLimitRefusal? {
        if let previous = counted {
            limiter.release(scope, previous)
            counted = nil
        }
        guard limiter.acquire(scope, value) else {
            return ConnectionLimitRefusal(scope: scope, limit: limiter.cap(scope))
        }
        counted = limiter.counts(scope) ? value : nil
        return nil
    }

    /// Gives the counts back when `channel` closes: registered once, and only once something is
    /// counted, so a connection under no cap keeps neither a close callback nor this object
    /// alive (a few hundred bytes for each of 10,000 idle connections).
    func releaseCounts(on channel: any Channel) {
        guard !releaseRegistered, countedAddress != nil || countedSubject != nil else { return }
        releaseRegistered = true
        let bound = NIOLoopBound(self, eventLoop: channel.eventLoop)
        channel.closeFuture.whenComplete { _ in bound.value.close() }
    }

    /// Gives every count back; later admissions count nothing. Idempotent.
    func close() {
        closed = true
        if let address = countedAddress { limiter.release(.address, address) }
        if let subject = countedSubject { limiter.release(.subject, subject) }
        countedAddress = nil
        countedSubject = nil
    }
}

@available(*, unavailable)
extension ConnectionAdmission: Sendable {}

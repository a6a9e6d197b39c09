import GatewayAuth
import NIOCore
import NIOHTTP1
import NIOSSL
import XYService

/// One accepted connection's pipeline before its upgrade: TLS when configured, NIO's HTTP
/// server handlers with the WebSocket upgrader, the connection's ``ConnectionAdmission``
/// (released when the channel closes, whatever closes it) and ``GatewayHTTPHandler``.
/// ``GatewayServer`` builds its children with it, and the `EmbeddedChannel` tests build theirs
/// with the same code, giving their own `authenticate` and `install`.
struct GatewayConnectionPipeline: Sendable {
    let routes: HTTPRoutes
    let limiter: ConnectionLimiter
    let resolver: ClientAddressResolver
    let requestTimeout: TimeAmount
    let keepAliveTimeout: TimeAmount
    let maxInboundMessageBytes: Int
    let sslContext: NIOSSLContext?
    /// Verifies the upgrade's credentials; fails with an ``UpgradeRefusal`` to refuse.
    let authenticate: @Sendable (any Channel, HTTPRequestHead) -> EventLoopFuture<AuthenticatedUpgrade>
    /// Adds the WebSocket session once the frame decoder is in place; `clientAddress` is the
    /// address the connection was counted under (after a trusted proxy's headers).
    let install: @Sendable (any Channel, AuthenticatedUpgrade, _ clientAddress: String) throws -> Void

    /// The request deadline of a connection accepted over its address cap.
    static let overCapRequestTimeout: TimeAmount = .seconds(1)

    /// Adds the handlers; call on the channel's event loop.
    func configure(_ channel: any Channel) throws {
        let sync = channel.pipeline.syncOperations
        if let sslContext { try sync.addHandler(NIOSSLServerHandler(context: sslContext)) }
        let admission = ConnectionAdmission(peer: channel.remoteAddress?.ipAddress ?? "", limiter: limiter, resolver: resolver)
        let bound = NIOLoopBound(admission, eventLoop: channel.eventLoop)
        admission.releaseCounts(on: channel)
        try sync.configureHTTPServerPipeline(
            withServerUpgrade: (upgraders: [makeUpgrader(admission: bound)], completionHandler: { context in
                let pipeline = context.pipeline.syncOperations
                if let handler = try? pipeline.handler(type: GatewayHTTPHandler.self) {
                    pipeline.removeHandler(handler, promise: nil)
                }
            }),
            withErrorHandling: true)
        // Over the cap already: a browser sends its request at once, so a second is enough to be
        // told 429; a socket that sends nothing gives its descriptor back that much sooner.
        let timeout = admission.isOverCapAtAccept ? min(requestTimeout, Self.overCapRequestTimeout) : requestTimeout
        try sync.addHandler(GatewayHTTPHandler(
            routes: routes, admission: admission, requestTimeout: timeout, keepAliveTimeout: keepAliveTimeout))
    }

    /// The upgrader of one connection: the address cap, then authentication, then the subject
    /// cap, each refusal answered by the HTTP handler.
    private func makeUpgrader(admission: NIOLoopBound<ConnectionAdmission>) -> GatewayWebSocketUpgrader {
        let authenticate = authenticate
        let install = install
        let accepted = NIOLoopBound<AcceptedUpgrade>(AcceptedUpgrade(), eventLoop: admission.eventLoop)
        return GatewayWebSocketUpgrader(
            maxMessageBytes: maxInboundMessageBytes,
            authorize: { channel, head in
                if let refusal = admission.value.admit(head) {
                    return channel.eventLoop.makeFailedFuture(UpgradeRefusal.limit(refusal))
                }
                admission.value.releaseCounts(on: channel)
                return authenticate(channel, head).hop(to: channel.eventLoop).flatMapThrowing { upgrade in
                    if let refusal = admission.value.admit(subject: upgrade.claims.subject) {
                        throw UpgradeRefusal.limit(refusal)
                    }
                    admission.value.releaseCounts(on: channel)
                    accepted.value.upgrade = upgrade
                    var extra = HTTPHeaders()
                    if let subprotocol = upgrade.responseSubprotocol { extra.add(name: "Sec-WebSocket-Protocol", value: subprotocol) }
                    return extra
                }
            },
            install: { channel, _ in
                channel.eventLoop.makeCompletedFuture {
                    guard let upgrade = accepted.value.upgrade else { throw ChannelError.inappropriateOperationForState }
                    try install(channel, upgrade, admission.value.clientAddress)
                }
            }
        )
    }
}

/// The authenticated upgrade of one connection, between the 101 and the session's install.
private final class AcceptedUpgrade {
    var upgrade: AuthenticatedUpgrade?
}

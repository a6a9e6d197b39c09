import Foundation
@testable import Gateway
import GatewayAuth
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOHTTP1
import XYService

/// The gateway's real per-connection pipeline before the upgrade (``GatewayConnectionPipeline``:
/// NIO's HTTP handlers, the WebSocket upgrader, the caps and ``GatewayHTTPHandler``) on
/// `EmbeddedChannel`s that share one `EmbeddedEventLoop`, so a test moves the clock for every
/// connection at once. What stands in for the rest of the gateway: authentication takes the
/// subject from `Authorization: Bearer <subject>` (the authenticator has its own tests), and
/// the install records who upgraded instead of adding a `WebSocketSession` on a NATS hub.
final class EmbeddedGateway {
    let loop = EmbeddedEventLoop()
    let limiter: ConnectionLimiter
    let pipeline: GatewayConnectionPipeline
    /// Subject and client address of every completed upgrade.
    let installed = NIOLockedValueBox<[(subject: String, address: String)]>([])
    /// When set, authentication waits for the test to complete the promise it leaves here.
    let holdAuthentication = NIOLockedValueBox(false)
    let pendingAuthentication = NIOLockedValueBox<EventLoopPromise<AuthenticatedUpgrade>?>(nil)
    /// When set, installing the session fails (as when the hub has no shard for the loop).
    let failInstall = NIOLockedValueBox(false)

    static let healthBody = #"{"status":"ready","service":"xy-gateway"}"#
    static let metricsBody = "xy_ws_active_connections 0\n"

    init(
        maxPerAddress: Int = 0, maxPerSubject: Int = 0, trustedProxies: [String] = [],
        requestTimeout: TimeAmount = .seconds(10), keepAliveTimeout: TimeAmount = .seconds(15)
    ) {
        limiter = ConnectionLimiter(maxPerAddress: maxPerAddress, maxPerSubject: maxPerSubject)
        let routes = HTTPRoutes(
            metrics: { Array(Self.metricsBody.utf8) }, health: { (true, Self.healthBody) }, staticDirectory: nil,
            gatewayMetrics: GatewayMetrics(), noteError: { _ in }, logger: Logger(label: "xy.gateway.test"))
        let installed = installed
        let pending = pendingAuthentication
        let hold = holdAuthentication
        let failInstall = failInstall
        pipeline = GatewayConnectionPipeline(
            routes: routes, limiter: limiter, resolver: ClientAddressResolver(trustedProxies: trustedProxies),
            requestTimeout: requestTimeout, keepAliveTimeout: keepAliveTimeout, maxInboundMessageBytes: 1 << 20, sslContext: nil,
            authenticate: { channel, head in
                guard let bearer = head.headers["Authorization"].first, bearer.hasPrefix("Bearer ") else {
                    return channel.eventLoop.makeFailedFuture(UpgradeRefusal.auth(.missingToken()))
                }
                let upgrade = Self.upgrade(subject: String(bearer.dropFirst("Bearer ".count)))
                if hold.withLockedValue({ $0 }) {
                    let promise = channel.eventLoop.makePromise(of: AuthenticatedUpgrade.self)
                    pending.withLockedValue { $0 = promise }
                    return promise.futureResult
                }
                return channel.eventLoop.makeSucceededFuture(upgrade)
            },
            install: { _, upgrade, address in
                if failInstall.withLockedValue({ $0 }) { throw ChannelError.inappropriateOperationForState }
                installed.withLockedValue { $0.append((upgrade.claims.subject, address)) }
            })
    }

    /// What the authenticator answers for a valid token of `subject`.
    static func upgrade(subject: String) -> AuthenticatedUpgrade {
        let claims = GatewayClaims(
            subject: subject, grants: ["xy.md.>"], maxSubscriptions: nil, roles: [], issuer: nil, audience: [],
            expiresAt: Date().addingTimeInterval(3600), notBefore: nil, keyID: "test", algorithm: "ES256")
        return AuthenticatedUpgrade(
            claims: claims, source: .header, applicationSubprotocol: "xy.v1.json", responseSubprotocol: nil,
            grants: claims.subjectGrants())
    }

    /// A new connection from `address`, active, with the gateway's pipeline.
    func connect(from address: String = "192.0.2.1") throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(loop: loop)
        channel.remoteAddress = try SocketAddress(ipAddress: address, port: 40_000)
        try pipeline.configure(channel)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8080)).wait()
        return channel
    }

    /// Feeds request bytes to the gateway (ignored once it closed the connection).
    func send(_ channel: EmbeddedChannel, _ text: String) {
        guard channel.isActive else { return }
        _ = try? channel.writeInbound(ByteBuffer(string: text))
        loop.run()
    }

    /// Everything the gateway wrote so far, as text.
    func written(_ channel: EmbeddedChannel) throws -> String {
        var out = ""
        while let part = try channel.readOutbound(as: IOData.self) {
            switch part {
            case .byteBuffer(let buffer): out += String(buffer: buffer)
            case .fileRegion: out += "<file>"
            }
        }
        return out
    }

    /// Sends a request and parses the answer.
    func request(_ channel: EmbeddedChannel, _ text: String) throws -> EmbeddedResponse {
        send(channel, text)
        return EmbeddedResponse(try written(channel))
    }

    /// An upgrade request for `/ws` as a non-browser client sends it; `subject` nil sends no token.
    static func upgradeRequest(subject: String?, host: String? = "gateway.test", extraHeaders: String = "") -> String {
        var text = "GET /ws HTTP/1.1\r\n"
        if let host { text += "Host: \(host)\r\n" }
        text += "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        if let subject { text += "Authorization: Bearer \(subject)\r\n" }
        return text + extraHeaders + "\r\n"
    }

    /// Moves every connection's clock.
    func advance(_ amount: TimeAmount) {
        loop.advanceTime(by: amount)
    }

    /// Closes a connection as a client that leaves would.
    func close(_ channel: EmbeddedChannel) {
        if channel.isActive { _ = try? channel.close().wait() }
        loop.run()
    }
}

/// A response as the client reads it: status line, headers, body.
struct EmbeddedResponse {
    let text: String

    init(_ text: String) {
        self.text = text
    }

    var status: Int {
        Int(text.split(separator: " ", maxSplits: 2).dropFirst().first ?? "") ?? 0
    }

    var body: String {
        text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
    }

    func header(_ name: String) -> String? {
        let head = text.range(of: "\r\n\r\n").map { text[..<$0.lowerBound] } ?? Substring(text)
        for line in head.split(separator: "\r\n").dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == name.lowercased() { return parts[1].trimmingCharacters(in: .whitespaces) }
        }
        return nil
    }

    /// `code` of the JSON error body, or nil.
    var code: String? {
        (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["code"] as? String
    }

    var message: String? {
        (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["message"] as? String
    }
}

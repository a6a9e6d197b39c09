import Atomics
import GatewayAuth
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import ServiceLifecycle
import XYCore
import XYService

/// The gateway's one listener (`HTTP_PORT`): WebSocket upgrades authenticated before any frame,
/// `/metrics`, `/healthz` and the demo files, optionally over TLS. Before the upgrade every
/// connection has deadlines and counts against the caps per client address and per token subject
/// (``GatewayConnectionPipeline``). A `Service`: on graceful shutdown it stops accepting, tells
/// every client it is going away (1001) and closes.
public final class GatewayServer: Service, @unchecked Sendable {
    private let host: String
    private let port: Int
    private let configuration: GatewayConfiguration
    private let authenticator: GatewayAuthenticator
    private let hub: FanoutHub
    private let sessionEvents: SessionEventPublisher
    private let routes: HTTPRoutes
    private let group: any EventLoopGroup
    private let sslContext: NIOSSLContext?
    private let logger: Logger
    private let onListening: @Sendable (Int) async -> Void
    private let sessionCounter = ManagedAtomic<UInt64>(0)
    /// What every connection's session shares (one instance, not a copy per connection).
    private let sessionSettings: WebSocketSession.Settings
    /// Connections per client address and per token subject (XYW006).
    private let limiter: ConnectionLimiter
    private let instance: String

    /// - Parameters:
    ///   - group: the event loops connections live on; the hub must have been made with the same loops.
    ///   - metricsText: the Prometheus exposition of every metric.
    ///   - onListening: called with the bound port (port 0 picks one).
    public init(
        host: String, port: Int, configuration: GatewayConfiguration, authenticator: GatewayAuthenticator, hub: FanoutHub,
        sessionEvents: SessionEventPublisher, group: any EventLoopGroup, instance: String, readiness: ReadinessState,
        metricsText: @escaping @Sendable () -> [UInt8], redactor: SecretRedactor = SecretRedactor(), logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws {
        self.host = host
        self.port = port
        self.configuration = configuration
        self.sessionSettings = WebSocketSession.Settings(configuration)
        self.authenticator = authenticator
        self.hub = hub
        self.sessionEvents = sessionEvents
        self.group = group
        self.instance = instance
        self.logger = logger
        self.onListening = onListening
        self.limiter = ConnectionLimiter(
            maxPerAddress: configuration.maxConnectionsPerAddress, maxPerSubject: configuration.maxConnectionsPerSubject)
        if let certificate = configuration.tlsCertificateFile, let key = configuration.tlsKeyFile {
            let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
            var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
            tls.minimumTLSVersion = .tlsv12
            self.sslContext = try NIOSSLContext(configuration: tls)
        } else {
            self.sslContext = nil
        }
        let started = NIODeadline.now()
        let hubRef = hub
        self.routes = HTTPRoutes(
            metrics: metricsText,
            health: {
                Self.health(hub: hubRef, readiness: readiness, redactor: redactor, uptime: NIODeadline.now() - started)
            },
            staticDirectory: configuration.staticDirectory,
            gatewayMetrics: hub.metrics,
            noteError: { hubRef.noteError($0) },
            logger: logger
        )
    }

    public func run() async throws {
        let channel = try await makeBootstrap().bind(host: host, port: port).get()
        logger.info("gateway listening", metadata: [
            "http_port": "\(channel.localAddress?.port ?? port)", "tls": "\(sslContext != nil)",
        ])
        await onListening(channel.localAddress?.port ?? port)
        await withTaskGroup(of: Void.self) { children in
            // The hub's watch and snapshot requests live as long as the listener; shutdown waits for them.
            children.addTask { await self.hub.run() }
            await withGracefulShutdownHandler {
                try? await channel.closeFuture.get()
            } onGracefulShutdown: {
                channel.close(promise: nil)
            }
            children.cancelAll()
        }
        await hub.goingAway(timeout: .seconds(3))
    }

    private func makeBootstrap() -> ServerBootstrap {
        let configuration = configuration
        let pipeline = makeConnectionPipeline()
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // Writes wait in NIO up to a quarter of the queue's byte bound (at most 1 MiB) before
            // the connection counts as backed up and the queue policy takes over.
            .childChannelOption(.writeBufferWaterMark, value: .init(
                low: min(1 << 20, configuration.queueMaxBytes / 4) / 4, high: min(1 << 20, configuration.queueMaxBytes / 4)))
            .childChannelOption(.maxMessagesPerRead, value: 4)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let size = configuration.socketSendBuffer {
                        try channel.syncOptions?.setOption(ChannelOptions.socketOption(.so_sndbuf), value: SocketOptionValue(size))
                    }
                    try pipeline.configure(channel)
                }
            }
    }

    /// Every child's pipeline: the real authenticator, and a ``WebSocketSession`` on the hub
    /// after the upgrade.
    private func makeConnectionPipeline() -> GatewayConnectionPipeline {
        let authenticator = authenticator
        return GatewayConnectionPipeline(
            routes: routes, limiter: limiter, resolver: ClientAddressResolver(trustedProxies: configuration.trustedProxies),
            requestTimeout: TimeAmount(configuration.requestTimeout), keepAliveTimeout: TimeAmount(configuration.keepAliveTimeout),
            maxInboundMessageBytes: configuration.maxInboundMessageBytes, sslContext: sslContext,
            authenticate: { channel, head in
                let promise = channel.eventLoop.makePromise(of: AuthenticatedUpgrade.self)
                let headers = head.headers.map { (name: $0.name, value: $0.value) }
                let method = head.method.rawValue
                let uri = head.uri
                promise.completeWithTask {
                    do {
                        return try await authenticator.authenticate(method: method, uri: uri, headers: headers)
                    } catch let error as GatewayAuthError {
                        throw UpgradeRefusal.auth(error)
                    }
                }
                return promise.futureResult
            },
            install: { [self] channel, upgrade, clientAddress in
                guard let shard = self.hub.shard(for: channel.eventLoop) else { throw ChannelError.inappropriateOperationForState }
                let id = self.sessionCounter.loadThenWrappingIncrement(ordering: .relaxed)
                let session = WebSocketSession(
                    hub: self.hub, shard: shard, settings: self.sessionSettings, upgrade: upgrade,
                    sessionEvents: self.sessionEvents, sessionID: "\(self.instance)-\(id)",
                    remoteAddress: clientAddress)
                try channel.pipeline.syncOperations.addHandler(session)
            }
        )
    }

    /// `/healthz`: the body every service serves (ready while NATS is connected and the service is
    /// not stopping), plus the fan-out's own state.
    static func health(hub: FanoutHub, readiness: ReadinessState, redactor: SecretRedactor, uptime: TimeAmount) -> (Bool, String) {
        let subjects = hub.subjects
        return ObservabilityServer.healthBody(
            serviceName: "xy-gateway", readiness: readiness, redactor: redactor,
            fields: [
                ("natsConnected", hub.isNATSConnected ? "true" : "false"),
                ("subscriptions", "\(subjects.count)"),
                ("subjects", "[" + subjects.map(JSONText.quoted).joined(separator: ",") + "]"),
                ("clients", "\(hub.clientCount)"),
                ("lastErrorCode", hub.lastErrorCode.map(JSONText.quoted) ?? "null"),
                ("uptimeSeconds", "\(uptime.nanoseconds / 1_000_000_000)"),
            ])
    }
}

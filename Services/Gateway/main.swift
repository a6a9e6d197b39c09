// xy-gateway: browsers in over one WebSocket (JWT at the upgrade, Origin allow-list, subject ACLs,
// quotas, backpressure), fed by one NATS subscription per subject. Wiring only; the logic lives in
// Libraries/Gateway and Libraries/GatewayAuth.
import Gateway
import GatewayAuth
import Logging
import NIOPosix
import XYCore
import XYService

try await ServiceRuntime.main(
    serviceName: "xy-gateway",
    defaultHTTPPort: 8080,
    summary: "serves GET /ws (alias /api/v1/market-data/stream), /metrics, /healthz and the demo terminal on HTTP_PORT; forwards xy.md.tick.*, xy.md.snapshot.*, xy.md.bar.* to authenticated browsers.",
    variables: GatewayConfiguration.variables,
    settings: { environment throws(ConfigurationError) -> (GatewayConfiguration, GatewayAuthConfiguration) in
        (try GatewayConfiguration(environment: environment), try GatewayAuthConfiguration(environment: environment))
    },
    valueHistogramBuckets: GatewayMetrics.valueHistogramBuckets,
    start: { context, settings in
        let (gatewayConfiguration, authConfiguration) = settings
        let service = context.configuration
        let authenticator: GatewayAuthenticator
        do {
            authenticator = try await GatewayAuthenticator(configuration: authConfiguration, logger: Logger(label: "xy.gateway.auth"))
        } catch {
            context.logger.critical("cannot load the token verification keys", metadata: ["code": "\(XYErrorCode.invalidConfiguration)", "error": "\(error)"])
            ServiceRuntime.exitFailure()
        }
        let group = MultiThreadedEventLoopGroup.singleton
        let metrics = GatewayMetrics()
        let hub = FanoutHub(
            nats: context.nats, loops: Array(group.makeIterator()), encoder: MessageEncoder(source: service.instance), metrics: metrics,
            snapshotTimeout: gatewayConfiguration.snapshotRequestTimeout, producerSilence: gatewayConfiguration.producerSilence,
            logger: context.logger)
        let server: GatewayServer
        do {
            server = try GatewayServer(
                host: service.httpHost, port: service.httpPort, configuration: gatewayConfiguration, authenticator: authenticator,
                hub: hub, sessionEvents: SessionEventPublisher(nats: context.nats, instance: service.instance), group: group,
                instance: service.instance, readiness: context.readiness, metricsText: { context.registry.emitToBuffer() },
                redactor: context.redactor,
                logger: context.logger)
        } catch {
            context.logger.critical("cannot load the TLS certificate or key", metadata: ["code": "\(XYErrorCode.invalidConfiguration)", "error": "\(error)"])
            ServiceRuntime.exitFailure()
        }
        return ServiceRuntime.Parts(
            services: [
                server,
                // A burst of connections or a flood leaves freed buffers in malloc's arenas: give them back.
                MemoryReclaimer(interval: gatewayConfiguration.memoryTrimInterval, logger: context.logger),
            ],
            observability: .servedByService,
            onNATSEvent: { hub.connectionEvent($0) })
    }
)

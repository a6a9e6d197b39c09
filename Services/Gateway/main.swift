// xy-gateway: browsers in over one WebSocket (JWT at the upgrade, Origin allow-list, subject ACLs,
// quotas, backpressure), fed by one NATS subscription per subject. Wiring only; the logic lives in
// Libraries/Gateway and Libraries/GatewayAuth.
import Gateway
import GatewayAuth
import Logging
import NATS
import NIOCore
import NIOPosix
import XYCore
import XYService

let serviceName = "xy-gateway"
let defaultHTTPPort = 8080
let variables = ServiceConfiguration.variables(defaultHTTPPort: defaultHTTPPort) + GatewayConfiguration.variables

ServiceRuntime.handleCommandLine(
    serviceName: serviceName,
    summary: "serves GET /ws (alias /api/v1/market-data/stream), /metrics, /healthz and the demo terminal on HTTP_PORT; forwards xy.md.tick.*, xy.md.snapshot.*, xy.md.bar.* to authenticated browsers.",
    variables: variables
)

let processEnvironment = ProcessInfoEnvironment.current
let environment = EnvironmentReader(processEnvironment)
let service: ServiceConfiguration
let gatewayConfiguration: GatewayConfiguration
let authConfiguration: GatewayAuthConfiguration
do {
    service = try ServiceConfiguration(serviceName: serviceName, defaultHTTPPort: defaultHTTPPort, environment: environment)
    gatewayConfiguration = try GatewayConfiguration(environment: environment)
    authConfiguration = try GatewayAuthConfiguration(environment: environment)
} catch {
    ServiceRuntime.exit(error, serviceName: serviceName)
}

let redactor = SecretRedactor(secrets: [])
let (logger, registry) = ServiceRuntime.bootstrap(
    serviceName: serviceName, level: service.logLevel, redactor: redactor,
    valueHistogramBuckets: GatewayMetrics.valueHistogramBuckets
)
let readiness = ReadinessState()
readiness.markNotReady("nats", reason: "not connected yet", code: .natsUnavailable)

let authenticator: GatewayAuthenticator
do {
    authenticator = try await GatewayAuthenticator(configuration: authConfiguration, logger: Logger(label: "xy.gateway.auth"))
} catch {
    logger.critical("cannot load the token verification keys", metadata: ["code": "\(XYErrorCode.invalidConfiguration)", "error": "\(error)"])
    ServiceRuntime.exitFailure()
}

let natsOptions: NATSClientOptions
do {
    natsOptions = try service.natsClientOptions(logger: Logger(label: "xy.nats"))
} catch {
    ServiceRuntime.exit(error, serviceName: serviceName)
}

let nats: NATSClient
do {
    nats = try await NATSClient.connect(natsOptions)
} catch {
    logger.critical("cannot connect to NATS", metadata: ["code": "\(XYErrorCode.natsUnavailable)", "error": "\(error)"])
    ServiceRuntime.exitFailure()
}

let group = MultiThreadedEventLoopGroup.singleton
let loops = Array(group.makeIterator())
let metrics = GatewayMetrics()
let hub = FanoutHub(
    nats: nats, loops: loops, encoder: MessageEncoder(source: service.instance), metrics: metrics,
    snapshotTimeout: gatewayConfiguration.snapshotRequestTimeout, producerSilence: gatewayConfiguration.producerSilence, logger: logger)
let server: GatewayServer
do {
    server = try GatewayServer(
        host: service.httpHost, port: service.httpPort, configuration: gatewayConfiguration, authenticator: authenticator,
        hub: hub, sessionEvents: SessionEventPublisher(nats: nats, instance: service.instance), group: group,
        instance: service.instance, readiness: readiness, metricsText: { registry.emitToBuffer() }, logger: logger)
} catch {
    logger.critical("cannot load the TLS certificate or key", metadata: ["code": "\(XYErrorCode.invalidConfiguration)", "error": "\(error)"])
    ServiceRuntime.exitFailure()
}

try await ServiceRuntime.run(
    services: [
        NATSConnectionService(
            client: nats, readiness: readiness, logger: logger, drainTimeout: service.shutdownTimeout / 2,
            onEvent: { hub.connectionEvent($0) }),
        HealthHeartbeat(client: nats, serviceName: serviceName, instance: service.instance, version: NATSClient.version, interval: service.healthInterval, readiness: readiness, logger: logger),
        server,
        // A burst of connections or a flood leaves freed buffers in malloc's arenas: give them back.
        MemoryReclaimer(interval: gatewayConfiguration.memoryTrimInterval, logger: logger),
    ],
    configuration: service,
    logger: logger
)

// xy-realtime: the vendor WebSocket in, normalized MarketEvents out on NATS. Wiring only; the
// logic lives in Libraries/Upstream and Libraries/XYService.
import Logging
import NATS
import Upstream
import XYCore
import XYService

let serviceName = "xy-realtime"
let defaultHTTPPort = 9101
let variables = ServiceConfiguration.variables(defaultHTTPPort: defaultHTTPPort) + UpstreamConfiguration.variables

ServiceRuntime.handleCommandLine(
    serviceName: serviceName,
    summary: "holds the vendor WebSocket (Polygon/Massive protocol) and publishes normalized events on xy.md.event.<SYMBOL>.",
    variables: variables
)

let environment = EnvironmentReader(ProcessInfoEnvironment.current)
let service: ServiceConfiguration
let upstreamConfiguration: UpstreamConfiguration
do {
    service = try ServiceConfiguration(serviceName: serviceName, defaultHTTPPort: defaultHTTPPort, environment: environment)
    upstreamConfiguration = try UpstreamConfiguration(environment: environment)
} catch {
    ServiceRuntime.exit(error, serviceName: serviceName)
}

let redactor = SecretRedactor(secrets: [upstreamConfiguration.apiKey])
let (logger, registry) = ServiceRuntime.bootstrap(serviceName: serviceName, level: service.logLevel, redactor: redactor)
let readiness = ReadinessState()
readiness.markNotReady("nats", reason: "not connected yet", code: .natsUnavailable)

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

let metrics = UpstreamMetrics()
let upstream = UpstreamClient(configuration: upstreamConfiguration, nats: nats, metrics: metrics, readiness: readiness, logger: logger)
try await ServiceRuntime.run(
    services: [
        NATSConnectionService(client: nats, readiness: readiness, logger: logger, drainTimeout: service.shutdownTimeout / 2),
        ObservabilityServer(
            host: service.httpHost, port: service.httpPort, serviceName: serviceName, registry: registry,
            histograms: [metrics.ingestLatency], readiness: readiness, redactor: redactor, logger: logger,
            onListening: { port in logger.info("HTTP listening", metadata: ["http_port": "\(port)"]) }
        ),
        HealthHeartbeat(client: nats, serviceName: serviceName, instance: service.instance, version: NATSClient.version, interval: service.healthInterval, readiness: readiness, logger: logger),
        UpstreamControlService(nats: nats, upstream: upstream, logger: logger),
        upstream,
    ],
    configuration: service,
    logger: logger
)

// xy-admin: the REST API (accounts and tokens, JWKS, watchlists; docs in Api/openapi.yaml) over
// JetStream key-value buckets. Wiring only; the logic lives in Libraries/Admin.
import Admin
import Logging
import NATS
import XYService

let serviceName = "xy-admin"
let defaultHTTPPort = 9104
let variables = ServiceConfiguration.variables(defaultHTTPPort: defaultHTTPPort) + AdminConfiguration.variables

ServiceRuntime.handleCommandLine(
    serviceName: serviceName,
    summary: "serves the REST API on API_PORT (register, login, token renewal, JWKS, watchlists; Api/openapi.yaml) with its state in JetStream key-value buckets.",
    variables: variables
)

let environment = EnvironmentReader(ProcessInfoEnvironment.current)
let service: ServiceConfiguration
let adminConfiguration: AdminConfiguration
do {
    service = try ServiceConfiguration(serviceName: serviceName, defaultHTTPPort: defaultHTTPPort, environment: environment)
    adminConfiguration = try AdminConfiguration(environment: environment)
} catch {
    ServiceRuntime.exit(error, serviceName: serviceName)
}

let redactor = SecretRedactor(secrets: [])
let (logger, registry) = ServiceRuntime.bootstrap(serviceName: serviceName, level: service.logLevel, redactor: redactor)
let readiness = ReadinessState()
readiness.markNotReady("nats", reason: "not connected yet", code: .natsUnavailable)

let nats: NATSClient
do {
    nats = try await NATSClient.connect(try service.natsClientOptions(logger: Logger(label: "xy.nats")))
} catch {
    logger.critical("cannot connect to NATS", metadata: ["code": "\(XYErrorCode.natsUnavailable)", "error": "\(error)"])
    ServiceRuntime.exitFailure()
}

try await ServiceRuntime.run(
    services: [
        NATSConnectionService(client: nats, readiness: readiness, logger: logger, drainTimeout: service.shutdownTimeout / 2),
        ObservabilityServer(
            host: service.httpHost, port: service.httpPort, serviceName: serviceName, registry: registry,
            readiness: readiness, redactor: redactor, logger: logger,
            onListening: { port in logger.info("HTTP listening", metadata: ["http_port": "\(port)"]) }
        ),
        HealthHeartbeat(client: nats, serviceName: serviceName, instance: service.instance, version: NATSClient.version, interval: service.healthInterval, readiness: readiness, logger: logger),
        AdminService(configuration: adminConfiguration, nats: nats, readiness: readiness, logger: logger),
    ],
    configuration: service,
    logger: logger
)

import Logging
import NATS
import Prometheus
import ServiceLifecycle
import XYCore

extension ServiceRuntime {
    /// What every service has once the shared bootstrap is done, handed to its own wiring.
    public struct Context: Sendable {
        /// The variables every service reads (HTTP port, NATS, logging, shutdown bound, instance).
        public let configuration: ServiceConfiguration
        /// The service's logger, labelled with its name.
        public let logger: Logger
        /// The Prometheus registry swift-metrics was bootstrapped with.
        public let registry: PrometheusCollectorRegistry
        /// Readiness as `/healthz` reports it; `nats` is already tracked.
        public let readiness: ReadinessState
        /// The connected NATS client, drained last on shutdown.
        public let nats: NATSClient
        /// What logs and `/healthz` must never show (the service's secrets).
        public let redactor: SecretRedactor
    }

    /// The service's own part of its group: what runs after the shared services, and how
    /// `/metrics` and `/healthz` are served.
    public struct Parts {
        /// Who serves `/metrics` and `/healthz`.
        public enum Observability {
            /// The shared `ObservabilityServer` on `HTTP_PORT`, rendering `histograms` besides the registry.
            case server(histograms: [BatchHistogram])
            /// The service's own HTTP server (the gateway serves them beside `/ws`).
            case servedByService
        }

        /// Run after the NATS connection, the observability server and the heartbeat (and so
        /// stopped before them).
        public var services: [any Service]
        public var observability: Observability
        /// Told of every NATS connection event (disconnected, reconnected, …).
        public var onNATSEvent: @Sendable (NATSConnectionEvent) -> Void

        public init(
            services: [any Service],
            observability: Observability = .server(histograms: []),
            onNATSEvent: @escaping @Sendable (NATSConnectionEvent) -> Void = { _ in }
        ) {
            self.services = services
            self.observability = observability
            self.onNATSEvent = onNATSEvent
        }
    }

    /// A service's whole `main`, so every service starts, reports and stops the same way:
    /// `--help`, the shared and the service's own configuration (exit 2 on a bad variable),
    /// JSON logs with `secrets` redacted, Prometheus metrics, readiness, the NATS connection
    /// (exit 1 when it cannot be made), then one `ServiceGroup` of the NATS connection, the
    /// observability server, the health heartbeat and the service's own `Parts`, until
    /// SIGTERM/SIGINT.
    ///
    /// `settings` reads the service's own variables (listed in `variables`); `start` builds
    /// its services once NATS is connected (a failure there is the service's to log and exit on).
    public static func main<Settings>(
        serviceName: String,
        defaultHTTPPort: Int,
        summary: String,
        variables: [EnvironmentVariable],
        settings: (EnvironmentReader) throws(ConfigurationError) -> Settings,
        secrets: (Settings) -> [String] = { _ in [] },
        valueHistogramBuckets: [String: [Double]] = [:],
        adjustNATSOptions: (inout NATSClientOptions) -> Void = { _ in },
        start: (Context, Settings) async throws -> Parts
    ) async throws {
        handleCommandLine(
            serviceName: serviceName, summary: summary,
            variables: ServiceConfiguration.variables(defaultHTTPPort: defaultHTTPPort) + variables)

        let environment = EnvironmentReader(ProcessInfoEnvironment.current)
        let configuration: ServiceConfiguration
        let ownSettings: Settings
        var natsOptions: NATSClientOptions
        do {
            configuration = try ServiceConfiguration(
                serviceName: serviceName, defaultHTTPPort: defaultHTTPPort, environment: environment)
            ownSettings = try settings(environment)
            natsOptions = try configuration.natsClientOptions(logger: Logger(label: "xy.nats"))
        } catch {
            exit(error, serviceName: serviceName)
        }
        adjustNATSOptions(&natsOptions)

        let redactor = SecretRedactor(secrets: secrets(ownSettings))
        let (logger, registry) = bootstrap(
            serviceName: serviceName, level: configuration.logLevel, redactor: redactor,
            valueHistogramBuckets: valueHistogramBuckets)
        let readiness = ReadinessState()
        readiness.markNotReady("nats", reason: "not connected yet", code: .natsUnavailable)

        let nats: NATSClient
        do {
            nats = try await NATSClient.connect(natsOptions)
        } catch {
            logger.critical("cannot connect to NATS", metadata: ["code": "\(XYErrorCode.natsUnavailable)", "error": "\(error)"])
            exitFailure()
        }

        let context = Context(configuration: configuration, logger: logger, registry: registry, readiness: readiness, nats: nats, redactor: redactor)
        let parts = try await start(context, ownSettings)
        var services: [any Service] = [
            NATSConnectionService(
                client: nats, readiness: readiness, logger: logger, drainTimeout: configuration.shutdownTimeout / 2,
                onEvent: parts.onNATSEvent)
        ]
        switch parts.observability {
        case .server(let histograms):
            services.append(ObservabilityServer(
                host: configuration.httpHost, port: configuration.httpPort, serviceName: serviceName, registry: registry,
                histograms: histograms, readiness: readiness, redactor: redactor, logger: logger,
                onListening: { port in logger.info("HTTP listening", metadata: ["http_port": "\(port)"]) }))
        case .servedByService:
            break
        }
        services.append(HealthHeartbeat(
            client: nats, serviceName: serviceName, instance: configuration.instance, version: NATSClient.version,
            interval: configuration.healthInterval, readiness: readiness, logger: logger))
        try await run(services: services + parts.services, configuration: configuration, logger: logger)
    }
}

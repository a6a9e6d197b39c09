import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import XYCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A service's start-up and shutdown. Its `main` calls ``main(serviceName:defaultHTTPPort:summary:variables:settings:secrets:valueHistogramBuckets:adjustNATSOptions:start:)``,
/// which calls, in order: ``handleCommandLine(serviceName:summary:variables:)`` for `--help`,
/// ``bootstrap(serviceName:level:redactor:valueHistogramBuckets:)`` for logs and metrics (the only
/// place that bootstraps them), then ``run(services:configuration:logger:)`` for the
/// `ServiceGroup` that stops on SIGTERM/SIGINT within the configured bound.
public enum ServiceRuntime {
    /// Prints help listing every variable with its default and exits 0 on `--help`/`-h`; exits 2
    /// on any other argument (services take configuration from the environment only).
    public static func handleCommandLine(serviceName: String, summary: String, variables: [EnvironmentVariable], arguments: [String] = CommandLine.arguments) {
        let rest = arguments.dropFirst()
        guard let first = rest.first else { return }
        if first == "--help" || first == "-h" {
            print(helpText(serviceName: serviceName, summary: summary, variables: variables))
            exit(0)
        }
        writeStandardError("\(serviceName): unexpected argument '\(first)'; configuration comes from the environment (see --help)\n")
        exit(2)
    }

    /// The `--help` text: one line per variable with its default.
    public static func helpText(serviceName: String, summary: String, variables: [EnvironmentVariable]) -> String {
        var lines = ["\(serviceName): \(summary)", "", "USAGE: \(serviceName) [--help]", "", "ENVIRONMENT:"]
        let width = (variables.map(\.name.count).max() ?? 0) + 2
        for variable in variables {
            let padded = variable.name + String(repeating: " ", count: max(1, width - variable.name.count))
            let fallback: String
            if let value = variable.defaultValue {
                fallback = "default: \(value)"
            } else if variable.isRequired {
                fallback = "required"
            } else {
                fallback = "default: unset"
            }
            lines.append("  \(padded)\(variable.help) (\(fallback))")
        }
        return lines.joined(separator: "\n")
    }

    /// Reports a bad variable on stderr (and as a JSON line) and exits with status 2.
    public static func exit(_ error: ConfigurationError, serviceName: String) -> Never {
        writeStandardError("\(serviceName): invalid configuration: \(error.variable): \(error.reason)\n")
        var line = "{\"level\":\"critical\",\"service\":" + JSONText.quoted(serviceName)
        line += ",\"code\":\"\(XYErrorCode.invalidConfiguration)\",\"msg\":" + JSONText.quoted("invalid configuration: \(error.variable): \(error.reason)")
        line += ",\"variable\":" + JSONText.quoted(error.variable) + "}"
        JSONLogSink.standardOutput.write(line)
        Self.exit(2)
    }

    /// The buckets of every duration histogram, from 100 µs to 5 s.
    public static let durationBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5),
    ]

    /// Bootstraps swift-log to JSON lines and swift-metrics to a Prometheus registry; call once, from `main`.
    /// `valueHistogramBuckets` sets the buckets of value (not duration) histograms by metric name.
    public static func bootstrap(
        serviceName: String, level: Logger.Level, redactor: SecretRedactor, valueHistogramBuckets: [String: [Double]] = [:]
    ) -> (Logger, PrometheusCollectorRegistry) {
        LoggingSystem.bootstrap { label in
            JSONLogHandler(label: label, service: serviceName, level: level, redactor: redactor)
        }
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = durationBuckets
        factory.valueHistogramBuckets = valueHistogramBuckets
        MetricsSystem.bootstrap(factory)
        return (Logger(label: serviceName), registry)
    }

    /// Runs the services until they finish or a SIGTERM/SIGINT asks them to; a graceful shutdown
    /// longer than `configuration.shutdownTimeout` is escalated to cancellation.
    public static func run(services: [any Service], configuration: ServiceConfiguration, logger: Logger) async throws {
        var groupConfiguration = ServiceGroupConfiguration(
            services: services.map { .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        groupConfiguration.maximumGracefulShutdownDuration = configuration.shutdownTimeout
        groupConfiguration.maximumCancellationDuration = configuration.shutdownTimeout
        let group = ServiceGroup(configuration: groupConfiguration)
        logger.info("started", metadata: ["code": "\(XYErrorCode.lifecycle)", "instance": "\(configuration.instance)", "http_port": "\(configuration.httpPort)"])
        try await group.run()
        logger.info("stopped", metadata: ["code": "\(XYErrorCode.lifecycle)"])
    }

    /// Exits with status 1 after a fatal start-up failure that is not a configuration error.
    public static func exitFailure() -> Never {
        exit(1)
    }

    private static func exit(_ status: Int32) -> Never {
        #if canImport(Glibc)
        Glibc.exit(status)
        #else
        Darwin.exit(status)
        #endif
    }

    static func writeStandardError(_ text: String) {
        Platform.writeAll(2, Array(text.utf8))
    }
}

import Logging
import NATS
import XYCore

/// What every xy service reads from its environment: NATS connection, HTTP listener, log level,
/// heartbeat and shutdown timing. A service keeps its own extra settings in its own
/// `…Configuration` struct and lists both sets in `--help`.
public struct ServiceConfiguration: Sendable {
    /// Service name as logs, heartbeats and metrics show it (`xy-realtime`).
    public var serviceName: String
    /// Which copy of the service this is (host name and pid unless `SERVICE_INSTANCE` says).
    public var instance: String
    /// NATS servers, comma separated in `NATS_URLS`.
    public var natsURLs: String
    /// A `.creds` file (user JWT + NKey seed).
    public var natsCredentialsFile: String?
    /// A file holding an NKey seed.
    public var natsNKeySeedFile: String?
    /// TLS material (PEM files) for the NATS connection.
    public var natsTLSCAFile: String?
    public var natsTLSCertificateFile: String?
    public var natsTLSKeyFile: String?
    /// The address `/metrics` and `/healthz` listen on.
    public var httpHost: String
    /// Port for `/metrics` and `/healthz`; 0 picks a free port (tests).
    public var httpPort: Int
    public var logLevel: Logger.Level
    /// How often the heartbeat goes to `xy.exec.health`.
    public var healthInterval: Duration
    /// Upper bound on a graceful shutdown before the process cancels what is left.
    public var shutdownTimeout: Duration

    public static let natsURLsVariable = EnvironmentVariable("NATS_URLS", default: "nats://127.0.0.1:4222", help: "NATS server URLs, comma separated.")
    public static let natsCredsVariable = EnvironmentVariable("NATS_CREDS", help: "NATS credentials file (user JWT + NKey seed).")
    public static let natsNKeySeedFileVariable = EnvironmentVariable("NATS_NKEY_SEED_FILE", help: "File holding this service's NKey seed (alternative to NATS_CREDS).")
    public static let natsTLSCAVariable = EnvironmentVariable("NATS_TLS_CA", help: "CA certificate (PEM) that signs the NATS server's certificate.")
    public static let natsTLSCertVariable = EnvironmentVariable("NATS_TLS_CERT", help: "Client certificate (PEM) for NATS TLS.")
    public static let natsTLSKeyVariable = EnvironmentVariable("NATS_TLS_KEY", help: "Client private key (PEM) for NATS TLS.")
    public static let httpHostVariable = EnvironmentVariable("HTTP_HOST", default: "0.0.0.0", help: "Address the /metrics and /healthz listener binds.")
    public static let logLevelVariable = EnvironmentVariable("LOG_LEVEL", default: "info", help: "trace, debug, info, notice, warning, error or critical.")
    public static let healthIntervalVariable = EnvironmentVariable("HEALTH_INTERVAL", default: "5s", help: "Heartbeat period on xy.exec.health.")
    public static let shutdownTimeoutVariable = EnvironmentVariable("SHUTDOWN_TIMEOUT", default: "10s", help: "Longest a graceful shutdown (SIGTERM/SIGINT) may take.")
    public static let instanceVariable = EnvironmentVariable("SERVICE_INSTANCE", help: "Instance id in heartbeats; unset means host name and pid.")

    /// `HTTP_PORT` with this service's default port.
    public static func httpPortVariable(default port: Int) -> EnvironmentVariable {
        EnvironmentVariable("HTTP_PORT", default: String(port), help: "Port of the /metrics and /healthz listener (0 picks a free one).")
    }

    /// Every variable this struct reads, in `--help` order.
    public static func variables(defaultHTTPPort: Int) -> [EnvironmentVariable] {
        [
            natsURLsVariable, natsCredsVariable, natsNKeySeedFileVariable, natsTLSCAVariable, natsTLSCertVariable,
            natsTLSKeyVariable, httpHostVariable, httpPortVariable(default: defaultHTTPPort), logLevelVariable,
            healthIntervalVariable, shutdownTimeoutVariable, instanceVariable,
        ]
    }

    /// Reads and checks every variable; the first bad one throws, naming it.
    public init(serviceName: String, defaultHTTPPort: Int, environment: EnvironmentReader) throws(ConfigurationError) {
        self.serviceName = serviceName
        natsURLs = try environment.requiredString(Self.natsURLsVariable)
        do {
            _ = try NATSServerAddress.parseList(natsURLs)
        } catch {
            throw ConfigurationError(variable: Self.natsURLsVariable.name, reason: "is not a list of NATS URLs: \(error.message)")
        }
        natsCredentialsFile = try environment.file(Self.natsCredsVariable)
        natsNKeySeedFile = try environment.file(Self.natsNKeySeedFileVariable)
        if natsCredentialsFile != nil, natsNKeySeedFile != nil {
            throw ConfigurationError(variable: Self.natsNKeySeedFileVariable.name, reason: "cannot be set together with NATS_CREDS")
        }
        natsTLSCAFile = try environment.file(Self.natsTLSCAVariable)
        natsTLSCertificateFile = try environment.file(Self.natsTLSCertVariable)
        natsTLSKeyFile = try environment.file(Self.natsTLSKeyVariable)
        if (natsTLSCertificateFile == nil) != (natsTLSKeyFile == nil) {
            let missing = natsTLSCertificateFile == nil ? Self.natsTLSCertVariable : Self.natsTLSKeyVariable
            throw ConfigurationError(variable: missing.name, reason: "is required when the other of NATS_TLS_CERT / NATS_TLS_KEY is set")
        }
        httpHost = try environment.requiredString(Self.httpHostVariable)
        httpPort = try environment.integer(Self.httpPortVariable(default: defaultHTTPPort), in: 0...65535)
        logLevel = try environment.logLevel(Self.logLevelVariable)
        healthInterval = try environment.duration(Self.healthIntervalVariable)
        shutdownTimeout = try environment.duration(Self.shutdownTimeoutVariable)
        instance = try environment.string(Self.instanceVariable) ?? "\(Platform.hostName())-\(Platform.processID())"
    }

    /// Client options for this configuration: the service's name on the connection, its
    /// credentials and TLS, its own inbox prefix, and reconnecting for as long as the process runs.
    public func natsClientOptions(logger: Logger) throws(ConfigurationError) -> NATSClientOptions {
        var options: NATSClientOptions
        do {
            options = try NATSClientOptions(url: natsURLs)
        } catch {
            throw ConfigurationError(variable: Self.natsURLsVariable.name, reason: error.message)
        }
        options.name = serviceName
        // Replies to this service's requests arrive under `_INBOX.<service>.`, so the server's
        // permissions can let each service read its own replies and no one else's
        // (deploy/nats/authorization.conf).
        options.inboxPrefix = Self.inboxPrefix(serviceName: serviceName)
        if let natsCredentialsFile {
            options.authentication = .credentialsFile(natsCredentialsFile)
        } else if let natsNKeySeedFile {
            options.authentication = .nkeySeedFile(natsNKeySeedFile)
        }
        if natsTLSCAFile != nil || natsTLSCertificateFile != nil {
            options.tls = NATSTLSOptions(caFile: natsTLSCAFile, certificateFile: natsTLSCertificateFile, keyFile: natsTLSKeyFile, required: true)
        }
        // A service never gives up on NATS: it reports itself unready and keeps trying.
        options.maxReconnectAttempts = Int.max
        options.pingInterval = .seconds(10)
        options.logger = logger
        return options
    }

    /// `_INBOX.<service name>`: the subtree `_INBOX.<service name>.>` is what the service's NATS
    /// user may subscribe to for replies.
    public static func inboxPrefix(serviceName: String) -> String {
        "_INBOX." + serviceName
    }
}

import Foundation
import Hummingbird
import Logging
import NATS
import OpenAPIHummingbird
import OpenAPIRuntime
import ServiceLifecycle
import XYCore
import XYService

/// The REST API as a `Service` of the process's group: opens the buckets (retrying while
/// JetStream is unreachable, readiness `state` unmet meanwhile), loads the signing keys, serves
/// the implemented operations on `API_PORT` and reloads (and rotates) the keys every
/// ``TokenIssuer/refreshPeriod``.
public struct AdminService: Service {
    let configuration: AdminConfiguration
    let nats: NATSClient
    let readiness: ReadinessState
    let logger: Logger
    let onListening: @Sendable (Int) async -> Void
    let onReady: @Sendable (AdminHandle) async -> Void

    /// - Parameters:
    ///   - onListening: called with the API's bound port (port 0 picks one).
    ///   - onReady: called once the buckets and keys are loaded (tests rotate keys through it).
    public init(
        configuration: AdminConfiguration, nats: NATSClient, readiness: ReadinessState, logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in },
        onReady: @escaping @Sendable (AdminHandle) async -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.nats = nats
        self.readiness = readiness
        self.logger = logger
        self.onListening = onListening
        self.onReady = onReady
    }

    public func run() async throws {
        readiness.markNotReady("state", reason: "key-value buckets not open yet", code: .natsUnavailable)
        let hasher: PasswordHasher
        do {
            hasher = try PasswordHasher(operations: configuration.argon2Operations, memoryBytes: configuration.argon2MemoryBytes)
        } catch {
            logger.critical("cannot hash passwords", metadata: ["code": "\(XYErrorCode.invalidConfiguration)", "error": "\(error)"])
            throw error
        }
        guard let (store, issuer) = await openState() else { return }
        readiness.markReady("state")
        let accounts = Accounts(store: store, issuer: issuer, hasher: hasher, configuration: configuration, now: { Date() })
        let bars = try makeBars()
        let handler = AdminAPIHandler(accounts: accounts, configuration: configuration, bars: bars)
        await onReady(AdminHandle(issuer: issuer))

        let router = Router(context: AdminRequestContext.self)
        router.middlewares.add(APIErrorMiddleware(logger: logger))
        // Dates with milliseconds, as the document says (bar starts, snapshot times).
        try handler.registerHandlers(on: router, configuration: .init(dateTranscoder: MillisecondDateTranscoder()))
        var apiLogger = logger
        apiLogger[metadataKey: "component"] = "api"
        let application = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(configuration.apiHost, port: configuration.apiPort), serverName: "xy-admin"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.apiPort
                logger.info("API listening", metadata: ["api_port": "\(port)"])
                await onListening(port)
            },
            logger: apiLogger
        )
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: TokenIssuer.refreshPeriod)
                    guard !Task.isCancelled else { return }
                    do {
                        try await issuer.refresh()
                    } catch {
                        logger.warning("signing keys not reloaded", metadata: ["code": "\(XYErrorCode.natsUnavailable)", "error": "\(error)"])
                    }
                }
            }
            try await application.run()
            group.cancelAll()
        }
    }

    /// The bars operation's parts: XY_BARS on this connection, and the vendor when UPSTREAM_REST_URL is set.
    private func makeBars() throws -> MarketDataBars {
        var vendor: VendorREST?
        if let url = configuration.vendorRESTURL, let key = configuration.vendorAPIKey {
            vendor = try VendorREST(baseURL: url, apiKey: key, timeout: configuration.vendorRESTTimeout)
        } else {
            logger.info("no UPSTREAM_REST_URL: bars are served from XY_BARS only, without vendor backfill")
        }
        var barsLogger = logger
        barsLogger[metadataKey: "component"] = "bars"
        return MarketDataBars(
            archive: BarsArchive(jetStream: nats.jetStream()), vendor: vendor, logger: barsLogger,
            now: { Int64(Date().timeIntervalSince1970 * 1000) })
    }

    /// Opens the buckets and loads the keys, retrying with backoff (100 ms doubling to 5 s) until it
    /// works or the service stops.
    private func openState() async -> (AdminStore, TokenIssuer)? {
        let backoff = Backoff(initial: .milliseconds(100), cap: .seconds(5))
        var attempt = 0
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                let store = try await AdminStore.open(jetStream: nats.jetStream(), configuration: configuration)
                let issuer = TokenIssuer(bucket: store.keys, configuration: configuration)
                try await issuer.refresh()
                return (store, issuer)
            } catch {
                logger.warning("key-value buckets not open yet", metadata: ["code": "\(XYErrorCode.natsUnavailable)", "error": "\(error)"])
                try? await Task.sleep(for: backoff.delay(attempt: attempt, unitRandom: .random(in: 0..<1)))
                attempt += 1
            }
        }
        return nil
    }
}

/// What tests and operators may do to a running service: rotate its signing key now.
public struct AdminHandle: Sendable {
    let issuer: TokenIssuer

    /// Replaces the signing key (the old one stays in the JWKS until its tokens expire).
    public func rotateSigningKey() async throws {
        try await issuer.rotate()
    }

    /// The kid that signs now.
    public func currentKeyID() async -> String? {
        await issuer.currentKeyID
    }
}

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
        guard let (store, issuer, operators) = await openState() else { return }
        let heartbeats = try operators.health.listen(on: nats)
        defer { try? heartbeats.unsubscribe() }
        readiness.markReady("state")
        let accounts = Accounts(store: store, issuer: issuer, hasher: hasher, configuration: configuration, now: { Date() })
        let vendor = try makeVendor()
        let handler = AdminAPIHandler(
            accounts: accounts, configuration: configuration, operators: operators,
            snapshots: MarketSnapshots(
                nats: nats, groups: configuration.marketDataGroups, dynamicGroupCount: configuration.marketDataDynamicGroups, fallback: vendor.map(vendorSnapshots)),
            bars: makeBars(vendor: vendor))
        await onReady(AdminHandle(issuer: issuer))

        let router = Router(context: AdminRequestContext.self)
        router.middlewares.add(APIErrorMiddleware(logger: logger, resolver: ClientAddressResolver(trustedProxies: configuration.trustedProxies)))
        // Dates with milliseconds, as the document says (bar starts, snapshot times), and compact
        // JSON: the runtime's default (sorted keys, pretty-printed) costs a third of a 50-ticker
        // snapshots answer's time for whitespace nobody reads.
        // PreEncodedBodyMiddleware: the snapshots and bars answers are written by MarketDataJSON,
        // not the runtime's JSONEncoder (their CPU hot spot under load).
        try handler.registerHandlers(
            on: router, configuration: Configuration(dateTranscoder: MillisecondDateTranscoder(), jsonEncodingOptions: []),
            middlewares: [PreEncodedBodyMiddleware()])
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
            if let path = configuration.adminTokenFile {
                logger.warning("ADMIN_TOKEN_FILE is set: an admin token is kept on disk (development only)", metadata: ["path": "\(path)"])
                let file = AdminTokenFile(path: path, lifetime: configuration.adminTokenLifetime, issuer: issuer, logger: logger)
                group.addTask { await file.run() }
            }
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

    /// The vendor's REST API when UPSTREAM_REST_URL is set: bars backfill and the snapshots fallback.
    private func makeVendor() throws -> VendorREST? {
        guard let url = configuration.vendorRESTURL, let key = configuration.vendorAPIKey else {
            logger.info("no UPSTREAM_REST_URL: bars come from XY_BARS only and snapshots from the aggregator only")
            return nil
        }
        return try VendorREST(baseURL: url, apiKey: key, timeout: configuration.vendorRESTTimeout)
    }

    /// The bars operation's parts: XY_BARS on this connection, and the vendor when there is one.
    private func makeBars(vendor: VendorREST?) -> MarketDataBars {
        var barsLogger = logger
        barsLogger[metadataKey: "component"] = "bars"
        return MarketDataBars(
            archive: BarsArchive(jetStream: nats.jetStream()), vendor: vendor, logger: barsLogger,
            now: { Int64(Date().timeIntervalSince1970 * 1000) })
    }

    /// The snapshots fallback for tickers no aggregator group streams: the vendor's REST snapshot,
    /// marked `vendor`. A vendor failure leaves those tickers reported as not streamed (XYA033)
    /// rather than failing the call, and is logged with its code.
    private func vendorSnapshots(_ vendor: VendorREST) -> MarketSnapshots.Fallback {
        let logger = logger
        return { tickers in
            var quotes: [String: SnapshotQuote] = [:]
            do {
                for chunk in stride(from: 0, to: tickers.count, by: 250).map({ Array(tickers[$0..<min($0 + 250, tickers.count)]) }) {
                    for snapshot in try await vendor.snapshots(tickers: chunk) {
                        quotes[snapshot.ticker] = SnapshotQuote(
                            last: snapshot.last, change: snapshot.change, changePercent: snapshot.changePercent,
                            updatedAtMilliseconds: snapshot.updatedMilliseconds, source: .vendor)
                    }
                }
            } catch {
                logger.warning("vendor snapshot fallback failed", metadata: ["error": "\(error)"])
            }
            return quotes
        }
    }

    /// Opens the buckets and streams and loads the keys, retrying with backoff (100 ms doubling to
    /// 5 s) until it works or the service stops.
    private func openState() async -> (AdminStore, TokenIssuer, OperatorState)? {
        let backoff = Backoff(initial: .milliseconds(100), cap: .seconds(5))
        var attempt = 0
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                let store = try await AdminStore.open(jetStream: nats.jetStream(), configuration: configuration)
                let issuer = TokenIssuer(bucket: store.keys, configuration: configuration)
                try await issuer.refresh()
                let operators = OperatorState(
                    flags: try await FeatureFlags.open(jetStream: nats.jetStream(), configuration: configuration, logger: logger),
                    sessions: try await SessionLog.open(jetStream: nats.jetStream(), configuration: configuration),
                    health: HealthBoard(forget: configuration.healthForget))
                return (store, issuer, operators)
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

import Foundation
import Logging

/// The public keys tokens are verified with: one static key, or the keys of a JWKS URL by `kid`.
///
/// An actor because the JWKS keys change under concurrent upgrades. Refreshes are bounded so that
/// neither time nor hostile tokens can turn the gateway into a JWKS load generator:
/// - keys older than `refreshInterval` are refreshed in the background on the next lookup, while
///   the current keys keep answering (no upgrade waits for the periodic refresh);
/// - an unknown `kid` waits for a refresh (a key just rotated in), but at most one fetch starts per
///   `minimumRefreshInterval`, whatever the number of tokens with made-up `kid`s;
/// - concurrent lookups share one fetch in flight; a failed fetch keeps the previous keys.
public actor GatewayKeyStore {
    private enum Source {
        case fixed(VerificationKey)
        case jwks(url: String, fetcher: JWKSFetcher)
    }

    private let source: Source
    private let refreshInterval: Duration
    private let minimumRefreshInterval: Duration
    private let now: @Sendable () -> ContinuousClock.Instant
    private let logger: Logger
    private var keysByID: [String: VerificationKey] = [:]
    private var lastAttempt: ContinuousClock.Instant?
    private var lastSuccess: ContinuousClock.Instant?
    private var inFlight: Task<Void, Never>?
    private var lastFetchError: (any Error)?

    /// A store with one static key (`JWT_PUBLIC_KEY`); it verifies tokens whatever their `kid`.
    public init(key: VerificationKey) {
        self.source = .fixed(key)
        self.refreshInterval = .seconds(300)
        self.minimumRefreshInterval = .seconds(10)
        self.now = { .now }
        self.logger = Logger(label: "xy.gateway.auth")
    }

    /// A store that fetches `url` (`JWT_JWKS_URL`) when first needed, every `refreshInterval`,
    /// and on an unknown `kid` at most once per `minimumRefreshInterval`. `now` is for tests.
    public init(
        jwksURL url: String,
        fetcher: JWKSFetcher = JWKSFetcher(),
        refreshInterval: Duration = .seconds(300),
        minimumRefreshInterval: Duration = .seconds(10),
        logger: Logger = Logger(label: "xy.gateway.auth"),
        now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }
    ) {
        self.source = .jwks(url: url, fetcher: fetcher)
        self.refreshInterval = refreshInterval
        self.minimumRefreshInterval = minimumRefreshInterval
        self.logger = logger
        self.now = now
    }

    /// Fetches the JWKS now and throws if that fails or yields no usable key, so a gateway can
    /// refuse to start with a broken `JWT_JWKS_URL`. Does nothing for a static key.
    public func load() async throws {
        guard case .jwks(let url, let fetcher) = source else { return }
        // Through the shared fetch, so lookups arriving meanwhile wait for it instead of being
        // refused as rate-limited.
        startRefresh(url: url, fetcher: fetcher, force: true)
        await inFlight?.value
        if let lastFetchError { throw lastFetchError }
    }

    /// The `kid`s currently known (JWKS), for logs and tests.
    public var keyIDs: [String] { keysByID.keys.sorted() }

    /// The key for a token's `kid` and `alg`, or XYW005 (unknown kid, or alg not the key's).
    public func key(for kid: String?, algorithm: String) async throws(GatewayAuthError) -> VerificationKey {
        let key: VerificationKey
        switch source {
        case .fixed(let fixed):
            key = fixed
        case .jwks(let url, let fetcher):
            guard let kid else { throw .invalidToken(reason: "token has no kid; JWT_JWKS_URL keys are chosen by kid") }
            if let known = keysByID[kid] {
                if isStale { startRefresh(url: url, fetcher: fetcher) }
                key = known
            } else {
                if let inFlight {
                    await inFlight.value
                } else if mayRefresh {
                    startRefresh(url: url, fetcher: fetcher)
                    await inFlight?.value
                } else {
                    throw .invalidToken(reason: "unknown kid \(String(reflecting: kid)) (JWKS refresh rate-limited)")
                }
                guard let fresh = keysByID[kid] else {
                    throw .invalidToken(reason: "unknown kid \(String(reflecting: kid)) (not in the JWKS after refresh)")
                }
                key = fresh
            }
        }
        guard key.algorithm == algorithm else {
            throw .invalidToken(reason: "alg \(algorithm) does not match the key's \(key.algorithm)\(key.keyID.map { " (kid \($0))" } ?? "")")
        }
        return key
    }

    private var isStale: Bool {
        guard let lastSuccess else { return true }
        return now() - lastSuccess >= refreshInterval
    }

    private var mayRefresh: Bool {
        guard let lastAttempt else { return true }
        return now() - lastAttempt >= minimumRefreshInterval
    }

    private func startRefresh(url: String, fetcher: JWKSFetcher, force: Bool = false) {
        guard inFlight == nil, force || mayRefresh else { return }
        lastAttempt = now()
        inFlight = Task {
            do {
                try await self.fetch(url: url, fetcher: fetcher)
                self.lastFetchError = nil
            } catch {
                self.lastFetchError = error
                self.logger.warning("JWKS refresh failed; keeping the previous keys", metadata: ["url": "\(url)", "error": "\(error)"])
            }
            self.inFlight = nil
        }
    }

    private func fetch(url: String, fetcher: JWKSFetcher) async throws {
        let body = try await fetcher.fetch(url)
        let (keys, skipped) = try await VerificationKey.jwks(json: body)
        for reason in skipped {
            logger.warning("JWKS key skipped", metadata: ["url": "\(url)", "reason": "\(reason)"])
        }
        guard !keys.isEmpty else { throw VerificationKey.KeyError(message: "JWKS at \(url) has no usable ES256, RS256 or EdDSA key") }
        keysByID = Dictionary(keys.compactMap { key in key.keyID.map { ($0, key) } }, uniquingKeysWith: { first, _ in first })
        lastSuccess = now()
        logger.debug("JWKS loaded", metadata: ["url": "\(url)", "kids": "\(keyIDs.joined(separator: ","))"])
    }
}

import Foundation
import NATS
import NIOCore

/// The JetStream key-value buckets xy-admin keeps all its state in, so that the service itself is
/// stateless and several copies can run side by side.
///
/// | bucket | key | value |
/// |---|---|---|
/// | `xy_users` | username | ``StoredUser`` |
/// | `xy_watchlists` | username | ``StoredWatchlist`` |
/// | `xy_refresh_tokens` | `t.<id>` / `f.<family>` | ``StoredRefreshToken`` / a revocation marker (TTL: the refresh lifetime) |
/// | `xy_login_failures` | `u.<username>` / `a.<hex address>` | ``StoredFailures`` (TTL: the lockout) |
/// | `xy_signing_keys` | `ring` | ``StoredKeyRing`` |
public struct AdminStore: Sendable {
    public static let usersBucket = "xy_users"
    public static let watchlistsBucket = "xy_watchlists"
    public static let refreshBucket = "xy_refresh_tokens"
    public static let failuresBucket = "xy_login_failures"
    public static let keysBucket = "xy_signing_keys"
    /// Every bucket, for the NATS permissions (deploy/nats/authorization.conf).
    public static let buckets = [usersBucket, watchlistsBucket, refreshBucket, failuresBucket, keysBucket]

    let users: KeyValue
    let watchlists: KeyValue
    let refreshTokens: KeyValue
    let failures: KeyValue
    let keys: KeyValue

    /// Creates the buckets, or updates their settings when they exist (every copy does this at start).
    public static func open(jetStream: JetStream, configuration: AdminConfiguration) async throws -> AdminStore {
        func bucket(_ name: String, ttl: Duration = .zero, description: String) async throws -> KeyValue {
            var settings = KeyValueConfiguration(bucket: name)
            settings.description = description
            settings.replicas = configuration.streamReplicas
            settings.ttl = .nanoseconds(ttl.nanosecondCount)
            return try await jetStream.createKeyValue(settings)
        }
        return AdminStore(
            users: try await bucket(usersBucket, description: "xy-admin accounts"),
            watchlists: try await bucket(watchlistsBucket, description: "xy-admin watchlists"),
            refreshTokens: try await bucket(refreshBucket, ttl: configuration.refreshTokenLifetime, description: "xy-admin refresh tokens"),
            failures: try await bucket(failuresBucket, ttl: configuration.loginLockout, description: "xy-admin failed logins"),
            keys: try await bucket(keysBucket, description: "xy-admin token signing keys")
        )
    }

    /// The value of `key` decoded as `T` with its revision, nil when absent.
    static func read<T: Decodable>(_ type: T.Type, _ bucket: KeyValue, _ key: String) async throws -> (T, UInt64)? {
        guard let entry = try await bucket.get(key) else { return nil }
        let value = try JSONDecoder().decode(T.self, from: Data(buffer: entry.value))
        return (value, entry.revision)
    }

    static func encode(_ value: some Encodable) throws -> ByteBuffer {
        ByteBuffer(data: try JSONEncoder().encode(value))
    }
}

/// An account as stored: the Argon2id string, never returned by the API.
struct StoredUser: Codable, Sendable {
    var username: String
    var role: String
    var passwordHash: String
    var createdMilliseconds: Int64

    enum CodingKeys: String, CodingKey {
        case username, role
        case passwordHash = "password_hash"
        case createdMilliseconds = "created_ms"
    }
}

/// One user's tickers, in order.
struct StoredWatchlist: Codable, Sendable {
    var tickers: [String]
}

/// A refresh token as stored: only a SHA-256 of its secret, the family it belongs to (every token
/// renewed from one login), and whether it was spent.
struct StoredRefreshToken: Codable, Sendable {
    var username: String
    var family: String
    var secretSHA256: [UInt8]
    var expiresMilliseconds: Int64
    var spent: Bool

    enum CodingKeys: String, CodingKey {
        case username, family, spent
        case secretSHA256 = "secret_sha256"
        case expiresMilliseconds = "expires_ms"
    }
}

/// Failed logins for one username or address within the lockout.
struct StoredFailures: Codable, Sendable {
    var count: Int
    var lastMilliseconds: Int64

    enum CodingKeys: String, CodingKey {
        case count
        case lastMilliseconds = "last_ms"
    }
}

/// The signing keys: the first signs, the others are kept in the JWKS until `retireMilliseconds`.
struct StoredKeyRing: Codable, Sendable {
    struct Key: Codable, Sendable {
        var kid: String
        var privateKeyPEM: String
        var createdMilliseconds: Int64
        /// When a replaced key leaves the JWKS: its last tokens have expired by then.
        var retireMilliseconds: Int64?

        enum CodingKeys: String, CodingKey {
            case kid
            case privateKeyPEM = "private_key_pem"
            case createdMilliseconds = "created_ms"
            case retireMilliseconds = "retire_ms"
        }
    }

    var keys: [Key]
}

import Crypto
import Foundation
import NATS
import NIOPosix
import XYCore
import XYService

/// Registration, login (with its rate limit), refresh-token rotation and revocation, over the
/// users, refresh-token and failed-login buckets. Refusals are ``APIFailure``s.
///
/// Refresh tokens are `<id>.<secret>`: the bucket keeps the id's record with a SHA-256 of the
/// secret (compared in constant time), so a copy of the bucket does not hold usable tokens. Each
/// token is spent on use (compare-and-set on its revision, so two concurrent uses cannot both win)
/// and replaced by one of the same family; presenting a spent token revokes the whole family, the
/// standard answer to a stolen refresh token replayed after (or before) its owner used it.
struct Accounts: Sendable {
    let store: AdminStore
    let issuer: TokenIssuer
    let hasher: PasswordHasher
    let configuration: AdminConfiguration
    let now: @Sendable () -> Date

    /// The longest password hashed, so a huge one cannot cost unbounded work.
    static let passwordMaximumLength = 256

    /// Lowercase letter first, then 2–31 of a–z, 0–9, `_`, `-`: always a valid bucket key.
    static func isValidUsername(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (3...32).contains(bytes.count), let first = bytes.first, first >= 97, first <= 122 else { return false }
        return bytes.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    /// The role an account has now: admin when ADMIN_USERNAMES lists it, user otherwise.
    func role(of username: String) -> String {
        configuration.adminUsernames.contains(username) ? "admin" : "user"
    }

    /// The stored account with its role brought in line with ADMIN_USERNAMES (stored, so `me`
    /// shows it; best effort: a concurrent change of the record keeps the other writer's copy and
    /// the token still carries the listed role).
    func withCurrentRole(_ user: StoredUser) async -> StoredUser {
        let role = role(of: user.username)
        guard user.role != role else { return user }
        var changed = user
        changed.role = role
        if let (_, revision) = try? await AdminStore.read(StoredUser.self, store.users, user.username),
            let value = try? AdminStore.encode(changed)
        {
            _ = try? await store.users.update(user.username, value, revision: revision)
        }
        return changed
    }

    /// Creates the account (role admin when ADMIN_USERNAMES lists it, else user) and its default watchlist.
    func register(username: String, password: String) async throws -> StoredUser {
        guard Self.isValidUsername(username) else {
            throw APIFailure(.badRequest, .invalidUsername, "a username is 3 to 32 characters of a-z, 0-9, '_' and '-', starting with a letter")
        }
        let length = password.count
        guard length >= configuration.passwordMinimumLength, length <= Self.passwordMaximumLength else {
            throw APIFailure(.badRequest, .invalidPassword, "a password is \(configuration.passwordMinimumLength) to \(Self.passwordMaximumLength) characters")
        }
        let hasher = self.hasher
        guard let hash = try await Self.offPool({ hasher.hash(password) }) else {
            throw APIFailure.unavailable("the password could not be hashed")
        }
        let user = StoredUser(username: username, role: role(of: username), passwordHash: hash, createdMilliseconds: now().milliseconds)
        do {
            try await store.users.create(username, AdminStore.encode(user))
        } catch let error as JetStreamError where error.kind == .keyExists {
            throw APIFailure(.conflict, .usernameTaken, "the username is taken")
        }
        _ = try? await store.watchlists.create(username, AdminStore.encode(StoredWatchlist(tickers: configuration.watchlistDefault)))
        return user
    }

    /// The account behind a valid password, or XYA004 (same body whether the user exists), or
    /// XYA005 while the username or the address is locked out.
    func login(username: String, password: String, address: String) async throws -> StoredUser {
        let userKey = Self.isValidUsername(username) ? "u." + username : nil
        let addressKey = "a." + Array(address.utf8).map { String($0, radix: 16) }.joined()
        try await refuseWhenLocked(userKey, limit: configuration.loginMaxFailuresPerUser)
        try await refuseWhenLocked(addressKey, limit: configuration.loginMaxFailuresPerAddress)
        var stored: StoredUser?
        if userKey != nil {
            stored = try await AdminStore.read(StoredUser.self, store.users, username)?.0
        }
        // Always one Argon2id verification: against the decoy hash when the user is unknown or the
        // password is longer than any registration accepts (only its prefix is hashed, so it must
        // never match a stored password that is that prefix).
        let candidate = password.count <= Self.passwordMaximumLength ? stored?.passwordHash : nil
        let hasher = self.hasher
        let prefix = String(password.prefix(Self.passwordMaximumLength))
        if try await Self.offPool({ hasher.verify(prefix, against: candidate) }), let stored {
            if let userKey { try? await store.failures.delete(userKey) }
            return await withCurrentRole(stored)
        }
        if let userKey { try await recordFailure(userKey) }
        try await recordFailure(addressKey)
        throw APIFailure(.unauthorized, .badCredentials, "unknown username or wrong password")
    }

    /// Runs Argon2id (tens to hundreds of milliseconds of CPU and 64 MiB) on NIO's blocking-work
    /// pool, so concurrent logins never hold the cooperative threads every request needs.
    static func offPool<T: Sendable>(_ work: @escaping @Sendable () -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(work)
    }

    private func refuseWhenLocked(_ key: String?, limit: Int) async throws {
        guard let key, let (failures, _) = try await AdminStore.read(StoredFailures.self, store.failures, key) else { return }
        let elapsed = now().milliseconds - failures.lastMilliseconds
        let remaining = configuration.loginLockout.milliseconds - elapsed
        guard failures.count >= limit, remaining > 0 else { return }
        throw APIFailure(.tooManyRequests, .loginRateLimited, "too many failed logins; try again later", retryAfterSeconds: Int((remaining + 999) / 1000))
    }

    /// Counts one failure (compare-and-set, so concurrent failures on several copies all count).
    private func recordFailure(_ key: String) async throws {
        for _ in 0..<8 {
            let moment = now().milliseconds
            if let (failures, revision) = try await AdminStore.read(StoredFailures.self, store.failures, key) {
                let fresh = moment - failures.lastMilliseconds < configuration.loginLockout.milliseconds
                let next = StoredFailures(count: fresh ? failures.count + 1 : 1, lastMilliseconds: moment)
                do {
                    try await store.failures.update(key, AdminStore.encode(next), revision: revision)
                    return
                } catch let error as JetStreamError where error.errorCode == .streamWrongLastSequence {
                    continue
                }
            } else {
                do {
                    try await store.failures.create(key, AdminStore.encode(StoredFailures(count: 1, lastMilliseconds: moment)))
                    return
                } catch let error as JetStreamError where error.kind == .keyExists {
                    continue
                }
            }
        }
    }

    /// A new refresh token in `family` (a new family at login).
    func mintRefreshToken(username: String, family: String? = nil) async throws -> (token: String, lifetime: Duration) {
        let id = randomBytes(16).map { String(format: "%02x", $0) }.joined()
        let secret = randomBytes(32)
        let record = StoredRefreshToken(
            username: username, family: family ?? randomBytes(16).map { String(format: "%02x", $0) }.joined(),
            secretSHA256: Array(SHA256.hash(data: secret)), expiresMilliseconds: now().milliseconds + configuration.refreshTokenLifetime.milliseconds,
            spent: false
        )
        try await store.refreshTokens.create("t." + id, AdminStore.encode(record))
        return (id + "." + secret.base64URL, configuration.refreshTokenLifetime)
    }

    /// Spends `token` and returns its user and a fresh token of the same family; XYA006 when it is
    /// unknown, expired, spent (which revokes the family) or revoked.
    func rotate(_ token: String) async throws -> (user: StoredUser, refreshToken: String, lifetime: Duration) {
        let invalid = APIFailure(.unauthorized, .refreshTokenInvalid, "the refresh token is unknown, expired, spent or revoked")
        guard let (id, secret) = Self.parse(token), let (record, revision) = try await AdminStore.read(StoredRefreshToken.self, store.refreshTokens, "t." + id),
            constantTimeEqual(Array(SHA256.hash(data: secret)), record.secretSHA256)
        else { throw invalid }
        guard record.expiresMilliseconds > now().milliseconds, try await store.refreshTokens.get("f." + record.family) == nil else { throw invalid }
        guard !record.spent else {
            try await revokeFamily(record.family)
            throw invalid
        }
        var spent = record
        spent.spent = true
        do {
            try await store.refreshTokens.update("t." + id, AdminStore.encode(spent), revision: revision)
        } catch let error as JetStreamError where error.errorCode == .streamWrongLastSequence {
            // Used twice at once: one of the two is a replay.
            try await revokeFamily(record.family)
            throw invalid
        }
        guard let (user, _) = try await AdminStore.read(StoredUser.self, store.users, record.username) else { throw invalid }
        let next = try await mintRefreshToken(username: user.username, family: record.family)
        return (await withCurrentRole(user), next.token, next.lifetime)
    }

    /// Revokes the family of `token` (logout); unknown tokens are ignored.
    func revoke(_ token: String) async throws {
        guard let (id, secret) = Self.parse(token), let (record, _) = try await AdminStore.read(StoredRefreshToken.self, store.refreshTokens, "t." + id),
            constantTimeEqual(Array(SHA256.hash(data: secret)), record.secretSHA256)
        else { return }
        try await revokeFamily(record.family)
    }

    private func revokeFamily(_ family: String) async throws {
        try await store.refreshTokens.put("f." + family, "revoked")
    }

    /// `<32 hex>.<base64url>` into the id and the secret's bytes.
    static func parse(_ token: String) -> (String, [UInt8])? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].utf8.count == 32, parts[0].utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }),
            parts[1].utf8.count <= 64
        else { return nil }
        var base64 = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.utf8.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), data.count == 32 else { return nil }
        return (String(parts[0]), Array(data))
    }
}

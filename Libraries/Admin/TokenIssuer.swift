import Foundation
import GatewayAuth
import JWTKit
import NATS
import Synchronization

/// Signs and checks access tokens with the key ring kept in the `xy_signing_keys` bucket, and
/// serves the ring's public keys as the JWKS.
///
/// Rotation: when the signing key is older than `SIGNING_KEY_ROTATION`, whichever copy notices
/// first puts a new ring (compare-and-set on the bucket's revision, so two copies never both
/// rotate) with a new key first and the old one marked to retire once every token it signed has
/// expired: access lifetime, plus one ring refresh period (another copy may sign with it until
/// it reloads), plus the verifiers' leeway.
public actor TokenIssuer {
    /// How often a copy reloads the ring (and rotates when due).
    public static let refreshPeriod: Duration = .seconds(30)
    static let leeway: Duration = .seconds(60)

    private let bucket: KeyValue
    private let configuration: AdminConfiguration
    private let now: @Sendable () -> Date
    private var ring = StoredKeyRing(keys: [])
    private var revision: UInt64 = 0
    private var signers: [String: TokenSigningKey] = [:]
    private var verifier = JWTKeyCollection()
    /// Tokens whose signature verified with the current ring (``VerifiedTokens``).
    private nonisolated let verified = VerifiedTokens()

    init(bucket: KeyValue, configuration: AdminConfiguration, now: @escaping @Sendable () -> Date = { Date() }) {
        self.bucket = bucket
        self.configuration = configuration
        self.now = now
    }

    /// Loads the ring, creating its first key when the bucket has none, and rotates when due.
    public func refresh() async throws {
        for _ in 0..<5 {
            if let (stored, storedRevision) = try await AdminStore.read(StoredKeyRing.self, bucket, "ring") {
                try await adopt(stored, revision: storedRevision)
                if try await rotateIfDue() { return }
            } else {
                let first = try Self.newKey(now: now())
                do {
                    let created = try await bucket.create("ring", AdminStore.encode(StoredKeyRing(keys: [first])))
                    try await adopt(StoredKeyRing(keys: [first]), revision: created)
                    return
                } catch let error as JetStreamError where error.kind == .keyExists {
                    continue  // another copy created it first: read theirs
                }
            }
        }
    }

    /// Replaces the signing key now, whatever its age (operators, tests); the old one stays in the
    /// JWKS until its tokens have expired.
    public func rotate() async throws {
        for _ in 0..<5 {
            let moment = now()
            var keys = ring.keys.filter { ($0.retireMilliseconds ?? .max) > moment.milliseconds }
            if !keys.isEmpty, keys[0].retireMilliseconds == nil {
                keys[0].retireMilliseconds = (moment + (configuration.accessTokenLifetime + Self.refreshPeriod + Self.leeway).timeInterval).milliseconds
            }
            let next = StoredKeyRing(keys: [try Self.newKey(now: moment)] + keys)
            do {
                let newRevision = try await bucket.update("ring", AdminStore.encode(next), revision: revision)
                try await adopt(next, revision: newRevision)
                return
            } catch let error as JetStreamError where error.errorCode == .streamWrongLastSequence {
                guard let (stored, storedRevision) = try await AdminStore.read(StoredKeyRing.self, bucket, "ring") else { continue }
                try await adopt(stored, revision: storedRevision)
            }
        }
    }

    /// Rotates when the signing key has signed for `SIGNING_KEY_ROTATION`; false when another copy
    /// changed the ring meanwhile (the caller reloads).
    private func rotateIfDue() async throws -> Bool {
        guard let current = ring.keys.first else { return false }
        let age = now().milliseconds - current.createdMilliseconds
        guard age >= configuration.signingKeyRotation.milliseconds else { return true }
        try await rotate()
        return true
    }

    private func adopt(_ stored: StoredKeyRing, revision: UInt64) async throws {
        let moment = now().milliseconds
        let live = stored.keys.filter { ($0.retireMilliseconds ?? .max) > moment }
        var signers: [String: TokenSigningKey] = [:]
        let collection = JWTKeyCollection()
        for key in live {
            let signer = try TokenSigningKey(privateKeyPEM: key.privateKeyPEM)
            signers[key.kid] = signer
            await collection.add(ecdsa: try ES256PublicKey(pem: signer.publicKeyPEM), kid: JWKIdentifier(string: key.kid))
        }
        if Set(signers.keys) != Set(self.signers.keys) {
            // A key left the ring (or came): nothing verified with the old ring is taken on trust.
            verified.removeAll()
        }
        self.ring = StoredKeyRing(keys: live)
        self.revision = revision
        self.signers = signers
        self.verifier = collection
    }

    private static func newKey(now: Date) throws -> StoredKeyRing.Key {
        let key = TokenSigningKey.generateES256()
        let kid = "xy-" + randomBytes(9).base64URL
        return StoredKeyRing.Key(kid: kid, privateKeyPEM: key.privateKeyPEM, createdMilliseconds: now.milliseconds, retireMilliseconds: nil)
    }

    /// The ring's public keys (signing key first) as JWKs.
    public func publicKeys() throws -> [JWK] {
        try ring.keys.compactMap { key in try signers[key.kid]?.publicJWK(keyID: key.kid) }
    }

    /// The kid of the key that signs now.
    public var currentKeyID: String? { ring.keys.first?.kid }

    /// An access token for `user`: the claims the gateway reads, the role, `kid` in the header;
    /// `lifetime` nil is ACCESS_TOKEN_TTL.
    func issue(username: String, role: String, lifetime: Duration? = nil) async throws -> (token: String, lifetime: Duration) {
        let lifetime = lifetime ?? configuration.accessTokenLifetime
        guard let current = ring.keys.first, let signer = signers[current.kid] else {
            throw APIFailure.unavailable("no signing key loaded yet")
        }
        // Whole seconds: iat and exp are NumericDates that verifiers commonly expect as integers.
        let issued = Date(timeIntervalSince1970: now().timeIntervalSince1970.rounded(.down))
        let payload = GatewayTokenPayload(
            sub: username, subjects: configuration.tokenSubjects, maxSubs: configuration.tokenMaxSubscriptions, role: role,
            issuer: configuration.issuer, audience: configuration.audience,
            expires: issued + lifetime.timeInterval, issuedAt: issued
        )
        return (try await signer.sign(payload, keyID: current.kid), lifetime)
    }

    /// The claims of a token this ring signed and that has not expired; XYW005 otherwise. A token
    /// seen before is not verified again (the ES256 check was a sixth of a snapshots request's
    /// CPU, every request of a client carrying the same token), but its expiry is checked anew.
    nonisolated func verify(_ token: String) async throws(APIFailure) -> GatewayTokenPayload {
        let (known, generation) = verified.payload(of: token)
        let payload: GatewayTokenPayload
        if let known {
            payload = known
        } else {
            payload = try await verifySignature(token)
        }
        guard let expires = payload.exp?.value, expires > now() else { throw .invalidToken("the token has expired") }
        guard let subject = payload.sub?.value, !subject.isEmpty else { throw .invalidToken("the token names no subject") }
        if known == nil { verified.keep(token, payload, generation: generation) }
        return payload
    }

    private func verifySignature(_ token: String) async throws(APIFailure) -> GatewayTokenPayload {
        do {
            return try await verifier.verify(token, as: GatewayTokenPayload.self)
        } catch {
            throw .invalidToken("the token's signature does not verify with any current key")
        }
    }
}

/// Access tokens whose signature verified, by their whole text, so a client's next request with
/// the same token skips the ES256 check. Bounded (emptied when full: a client's next request
/// verifies once more) and emptied when the key ring changes; expiry is the caller's check.
final class VerifiedTokens: Sendable {
    static let capacity = 10_000
    /// The generation counts the emptyings: a check that began before one is not kept.
    private let state = Mutex<(generation: UInt64, tokens: [String: GatewayTokenPayload])>((0, [:]))

    /// The claims of a token verified before, if any, and the generation to hand to ``keep``.
    func payload(of token: String) -> (GatewayTokenPayload?, UInt64) {
        state.withLock { ($0.tokens[token], $0.generation) }
    }

    /// Remembers a token verified while `generation` was current.
    func keep(_ token: String, _ payload: GatewayTokenPayload, generation: UInt64) {
        state.withLock { state in
            guard state.generation == generation else { return }
            if state.tokens.count >= Self.capacity { state.tokens.removeAll(keepingCapacity: true) }
            state.tokens[token] = payload
        }
    }

    func removeAll() {
        state.withLock { state in
            state.generation &+= 1
            state.tokens.removeAll()
        }
    }
}

extension Date {
    /// Milliseconds since the Unix epoch.
    var milliseconds: Int64 { Int64((timeIntervalSince1970 * 1000).rounded(.down)) }
}

extension Duration {
    /// Whole milliseconds.
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
    /// Whole nanoseconds (NIO's TimeAmount, the contracts' `*_ns`).
    var nanosecondCount: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
    /// Seconds as a Foundation interval.
    var timeInterval: TimeInterval { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension Array where Element == UInt8 {
    /// Base64url without padding.
    var base64URL: String {
        Data(self).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

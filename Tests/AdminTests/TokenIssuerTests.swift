import Foundation
import NATS
import NATSTestSupport
import NIOConcurrencyHelpers
import Testing
import XYCore
import XYService

@testable import Admin

/// Key rotation on a clock the test moves: the ring in the real `xy_signing_keys` bucket, two
/// copies of the service sharing it, the previous key kept exactly until its tokens have expired.
@Suite("xy-admin: signing-key rotation")
struct TokenIssuerTests {
    @Test("rotation when due, seen by every copy; the old key leaves the JWKS once its last token expired")
    func scheduledRotation() async throws {
        let nats = try await NATSServer.start(.init(jetStream: true))
        let client = try await NATSClient.connect(url: nats.url)
        do {
            let configuration = try AdminConfiguration(environment: EnvironmentReader([
                "ACCESS_TOKEN_TTL": "15m", "SIGNING_KEY_ROTATION": "24h",
            ]))
            let store = try await AdminStore.open(jetStream: client.jetStream(), configuration: configuration)
            let clock = NIOLockedValueBox(Date(timeIntervalSince1970: 1_800_000_000))
            let now: @Sendable () -> Date = { clock.withLockedValue { $0 } }
            let first = TokenIssuer(bucket: store.keys, configuration: configuration, now: now)
            let second = TokenIssuer(bucket: store.keys, configuration: configuration, now: now)

            try await first.refresh()
            try await second.refresh()
            let original = try #require(await first.currentKeyID)
            #expect(await second.currentKeyID == original, "the second copy adopts the ring the first created")
            clock.withLockedValue { $0 += 23 * 3600 }
            try await second.refresh()
            #expect(await second.currentKeyID == original, "not due yet")

            clock.withLockedValue { $0 += 3540 }
            let lastOfOriginal = try await first.issue(username: "olga", role: "user").token
            // Signed by the original key with a day to live, and verified once (kept as verified).
            let longLived = try await first.issue(username: "lena", role: "user", lifetime: .seconds(86_400)).token
            #expect(try await first.verify(longLived).sub?.value == "lena")
            clock.withLockedValue { $0 += 60 }
            try await second.refresh()
            let rotated = try #require(await second.currentKeyID)
            #expect(rotated != original, "due after 24 h")
            try await first.refresh()
            #expect(await first.currentKeyID == rotated, "one rotation, seen by both copies")
            #expect(try await first.publicKeys().compactMap { $0.keyIdentifier?.string } == [rotated, original])
            #expect(try await first.verify(lastOfOriginal).sub?.value == "olga", "a token of the previous key still verifies")

            // Kept for the access lifetime plus a refresh period plus the leeway (15 min + 30 s + 60 s).
            clock.withLockedValue { $0 += 15 * 60 + 89 }
            try await first.refresh()
            #expect(try await first.publicKeys().count == 2)
            clock.withLockedValue { $0 += 2 }
            try await first.refresh()
            #expect(try await first.publicKeys().compactMap { $0.keyIdentifier?.string } == [rotated])
            await #expect(throws: APIFailure.self, "a token of a key that left the ring is refused, though it verified before") {
                try await first.verify(longLived)
            }

            // A token verified before is still refused once it has expired.
            let short = try await first.issue(username: "max", role: "user", lifetime: .seconds(60)).token
            #expect(try await first.verify(short).sub?.value == "max")
            #expect(try await first.verify(short).sub?.value == "max", "the second time from the verified tokens")
            clock.withLockedValue { $0 += 61 }
            await #expect(throws: APIFailure.self, "expired") { try await first.verify(short) }
        } catch {
            await client.close()
            await nats.stop()
            throw error
        }
        await client.close()
        await nats.stop()
    }
}

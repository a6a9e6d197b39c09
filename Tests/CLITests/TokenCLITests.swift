import Foundation
import GatewayAuth
import Testing

@Suite("xy token")
struct TokenCLITests {
    static func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("xy-token-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test("keygen → mint → the gateway library verifies the token, by PEM and by JWKS")
    func keygenMintVerify() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let keyPath = directory.appendingPathComponent("dev.pem").path
        let publicPath = directory.appendingPathComponent("dev.pub.pem").path

        let keygen = try await XYCommand.run(["token", "keygen", "--out", keyPath])
        #expect(keygen.status == 0, "\(keygen.stderr)")
        let privatePEM = try String(contentsOfFile: keyPath, encoding: .utf8)
        let publicPEM = try String(contentsOfFile: publicPath, encoding: .utf8)
        #expect(privatePEM.contains("PRIVATE KEY"))
        #expect(publicPEM.contains("BEGIN PUBLIC KEY"))
        let mode = try FileManager.default.attributesOfItem(atPath: keyPath)[.posixPermissions] as? Int
        #expect(mode == 0o600)

        // Refuses to overwrite without --force; overwrites with it.
        let again = try await XYCommand.run(["token", "keygen", "--out", keyPath])
        #expect(again.status != 0)
        #expect(again.stderr.contains("--force"))
        #expect(try String(contentsOfFile: keyPath, encoding: .utf8) == privatePEM)
        let forced = try await XYCommand.run(["token", "keygen", "--out", keyPath, "--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        let newPublicPEM = try String(contentsOfFile: publicPath, encoding: .utf8)
        #expect(newPublicPEM != publicPEM)

        let mint = try await XYCommand.run([
            "token", "mint", "--key", keyPath, "--sub", "carol", "--subjects", "xy.md.tick.*", "xy.md.snapshot.*",
            "--ttl", "10m", "--max-subs", "5", "--iss", "xy-dev", "--aud", "xy-gateway",
        ])
        #expect(mint.status == 0, "\(mint.stderr)")
        let token = mint.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(token.split(separator: ".").count == 3)

        let verifier = TokenVerifier(
            keys: GatewayKeyStore(key: try await VerificationKey.publicKeyPEM(newPublicPEM)), issuer: "xy-dev", audience: "xy-gateway")
        let claims = try await verifier.verify(token)
        #expect(claims.subject == "carol")
        #expect(claims.grants == ["xy.md.tick.*", "xy.md.snapshot.*"])
        #expect(claims.maxSubscriptions == 5)
        #expect(claims.algorithm == "ES256")
        #expect(claims.keyID == "dev")
        #expect(claims.expiresAt.timeIntervalSinceNow > 500 && claims.expiresAt.timeIntervalSinceNow <= 600)

        // The JWKS printed for the key verifies the same token by kid.
        let jwks = try await XYCommand.run(["token", "jwks", "--key", keyPath])
        #expect(jwks.status == 0, "\(jwks.stderr)")
        let (keys, skipped) = try await VerificationKey.jwks(json: Data(jwks.stdout.utf8))
        #expect(skipped.isEmpty)
        #expect(keys.map(\.keyID) == ["dev"])
        #expect(keys.map(\.algorithm) == ["ES256"])
        #expect(!jwks.stdout.contains("\"d\""), "the JWKS must not carry the private key")

        // The old public key does not verify the new key's token.
        let stale = TokenVerifier(keys: GatewayKeyStore(key: try await VerificationKey.publicKeyPEM(publicPEM)))
        await #expect(throws: GatewayAuthError.self) { _ = try await stale.verify(token) }
    }

    @Test("mint refuses bad input with one line on stderr")
    func mintFailures() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let keyPath = directory.appendingPathComponent("k.pem").path
        #expect(try await XYCommand.run(["token", "keygen", "--out", keyPath]).status == 0)
        let badSubject = try await XYCommand.run(["token", "mint", "--key", keyPath, "--sub", "x", "--subjects", "xy..md", "--ttl", "1m"])
        #expect(badSubject.status != 0)
        #expect(badSubject.stderr.contains("xy..md"))
        let noKey = try await XYCommand.run(["token", "mint", "--key", directory.appendingPathComponent("none.pem").path, "--sub", "x", "--ttl", "1m"])
        #expect(noKey.status != 0)
        #expect(noKey.stderr.contains("cannot read key file"))
        let badTTL = try await XYCommand.run(["token", "mint", "--key", keyPath, "--sub", "x", "--ttl", "soon"])
        #expect(badTTL.status != 0)
    }
}

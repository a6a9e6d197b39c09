import Foundation
import Testing

@testable import NKeys

@Suite struct NATSCredentialsTests {
    @Test func parsesTheNatsGoChainedCredsFile() throws {
        let creds = try NATSCredentials(parsing: TestVectors.chainedCreds)
        #expect(creds.jwt == TestVectors.userJWT)
        #expect(creds.keyPair.publicKey == TestVectors.userPublicKey)
        #expect(creds.keyPair.seed == TestVectors.userSeed)
    }

    @Test func parsesCRLFLineEndingsAndSurroundingText() throws {
        let lines = TestVectors.chainedCreds.split(separator: "\n", omittingEmptySubsequences: false)
        let text = "# issued by ops\r\nsome preamble\r\n" + lines.joined(separator: "\r\n")
            + "\r\ntrailing notes -- not a marker\r\n"
        #expect(text.utf8.filter { $0 == 13 }.count >= lines.count)
        let creds = try NATSCredentials(parsing: text)
        #expect(creds.jwt == TestVectors.userJWT)
        #expect(creds.keyPair.publicKey == TestVectors.userPublicKey)
    }

    @Test func acceptsVaryingDashCountsAndIndentation() throws {
        let text = """
              ---BEGIN NATS USER JWT---------
              \(TestVectors.userJWT)
            ---END NATS USER JWT---
            ----- BEGIN USER NKEY SEED -----
                \(TestVectors.userSeed)
            ----- END USER NKEY SEED -----
            """
        let creds = try NATSCredentials(parsing: text)
        #expect(creds.jwt == TestVectors.userJWT)
        #expect(creds.keyPair.publicKey == TestVectors.userPublicKey)
    }

    @Test func formatProducesAFileThatParsesBack() throws {
        let user = NKeyPair.generate(.user)
        let seed = try #require(user.seed)
        let text = NATSCredentials.format(jwt: TestVectors.userJWT, seed: seed)
        let jwtBlock = "-----BEGIN NATS USER JWT-----\n\(TestVectors.userJWT)\n------END NATS USER JWT------\n"
        #expect(text.hasPrefix(jwtBlock))
        #expect(text.contains("-----BEGIN USER NKEY SEED-----\n\(seed)\n------END USER NKEY SEED------\n"))
        let creds = try NATSCredentials(parsing: text)
        #expect(creds.jwt == TestVectors.userJWT)
        #expect(creds.keyPair.publicKey == user.publicKey)
    }

    @Test func aMissingSeedBlockIsAnError() {
        let text = """
            -----BEGIN NATS USER JWT-----
            \(TestVectors.userJWT)
            ------END NATS USER JWT------
            \(TestVectors.userSeed)
            """
        #expect(code { _ = try NATSCredentials(parsing: text) } == .invalidCredentials)
        #expect(code { _ = try NATSCredentials(parsing: "") } == .invalidCredentials)
        #expect(code { _ = try NATSCredentials(parsing: TestVectors.userSeed) } == .invalidCredentials)
    }

    @Test func aMissingJWTOrEmptyBlockIsAnError() {
        let seedOnly = """
            -----BEGIN USER NKEY SEED-----
            \(TestVectors.userSeed)
            ------END USER NKEY SEED------
            """
        #expect(code { _ = try NATSCredentials(parsing: seedOnly) } == .invalidCredentials)
        let emptySeed = """
            -----BEGIN NATS USER JWT-----
            \(TestVectors.userJWT)
            ------END NATS USER JWT------
            -----BEGIN USER NKEY SEED-----
            ------END USER NKEY SEED------
            """
        #expect(code { _ = try NATSCredentials(parsing: emptySeed) } == .invalidCredentials)
    }

    @Test func aBadSeedIsReportedWithoutQuotingIt() throws {
        let badSeed = String(TestVectors.userSeed.dropLast()) + "A"
        let text = TestVectors.chainedCreds.replacing(TestVectors.userSeed, with: badSeed)
        let error = try #require(catching { _ = try NATSCredentials(parsing: text) })
        #expect(error.code == .invalidCredentials)
        #expect(!error.description.contains("SUAM"))
    }

    @Test func readsACredsFile() throws {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("nkeys-\(UUID().uuidString).creds").path
        try TestVectors.chainedCreds.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let creds = try NATSCredentials(contentsOfFile: path)
        #expect(creds.jwt == TestVectors.userJWT)
        #expect(creds.keyPair.publicKey == TestVectors.userPublicKey)
        #expect(code { _ = try NATSCredentials(contentsOfFile: path + ".missing") } == .unreadableFile)
    }

    @Test func descriptionShowsNoSeed() throws {
        let creds = try NATSCredentials(parsing: TestVectors.chainedCreds)
        for text in [creds.description, String(reflecting: creds), dumped(creds)] {
            #expect(!text.contains(TestVectors.userSeed))
            #expect(text.contains(TestVectors.userPublicKey))
        }
    }
}

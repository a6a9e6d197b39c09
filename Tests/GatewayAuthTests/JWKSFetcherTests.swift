import Foundation
import GatewayAuth
import NATSTestSupport
import NIOSSL
import Testing

@Suite("JWKS over HTTPS")
struct JWKSFetcherTests {
    @Test("https:// is fetched through NIOSSL with certificate verification: trusted CA works, the system roots refuse a server of an unknown CA")
    func https() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gwauth-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let material = try await TLSMaterial.generate(in: directory)
        let authority = try NIOSSLCertificate.fromPEMFile(material.caFile)[0]
        let server = try await TestHTTPServer.start(
            tls: .makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(material.serverCertFile).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: material.serverKeyFile, format: .pem))))
        defer { Task { try? await server.stop() } }
        server.serve("/jwks.json", try TestKeys.es256.jwksJSON(keyID: "tls"))
        #expect(server.url.hasPrefix("https://127.0.0.1:"))

        var trusting = TLSConfiguration.makeClientConfiguration()
        trusting.trustRoots = .certificates([authority])
        let store = GatewayKeyStore(jwksURL: server.url + "/jwks.json", fetcher: JWKSFetcher(tlsConfiguration: trusting))
        try await store.load()
        let verifier = TokenVerifier(keys: store)
        #expect(try await verifier.verify(try await TestKeys.es256.sign(TestKeys.payload(), keyID: "tls")).keyID == "tls")

        // Default settings trust the system roots only: the server of the test's own CA is refused.
        await #expect(throws: (any Error).self) { _ = try await JWKSFetcher().fetch(server.url + "/jwks.json") }
        #expect(server.requests == 1)
    }
}

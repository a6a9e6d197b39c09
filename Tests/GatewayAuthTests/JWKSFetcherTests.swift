import Foundation
import GatewayAuth
import NIOSSL
import Testing

@Suite("JWKS over HTTPS")
struct JWKSFetcherTests {
    /// A self-signed P-256 certificate for 127.0.0.1, made with `openssl` in a temp directory.
    static func selfSignedCertificate() throws -> (certificate: String, key: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gwauth-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", directory.appendingPathComponent("key.pem").path, "-out", directory.appendingPathComponent("cert.pem").path,
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestHTTPServer.TestServerError(message: "openssl req failed (is openssl installed?)")
        }
        return (
            try String(contentsOf: directory.appendingPathComponent("cert.pem"), encoding: .utf8),
            try String(contentsOf: directory.appendingPathComponent("key.pem"), encoding: .utf8)
        )
    }

    @Test("https:// is fetched through NIOSSL with certificate verification: trusted CA works, the system roots refuse a self-signed server")
    func https() async throws {
        let (certificatePEM, keyPEM) = try Self.selfSignedCertificate()
        let certificate = try NIOSSLCertificate(bytes: Array(certificatePEM.utf8), format: .pem)
        let server = try await TestHTTPServer.start(
            tls: .makeServerConfiguration(certificateChain: [.certificate(certificate)], privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem))))
        defer { Task { try? await server.stop() } }
        server.serve("/jwks.json", try TestKeys.es256.jwksJSON(keyID: "tls"))
        #expect(server.url.hasPrefix("https://127.0.0.1:"))

        var trusting = TLSConfiguration.makeClientConfiguration()
        trusting.trustRoots = .certificates([certificate])
        let store = GatewayKeyStore(jwksURL: server.url + "/jwks.json", fetcher: JWKSFetcher(tlsConfiguration: trusting))
        try await store.load()
        let verifier = TokenVerifier(keys: store)
        #expect(try await verifier.verify(try await TestKeys.es256.sign(TestKeys.payload(), keyID: "tls")).keyID == "tls")

        // Default settings trust the system roots only: the self-signed server is refused.
        await #expect(throws: (any Error).self) { _ = try await JWKSFetcher().fetch(server.url + "/jwks.json") }
        #expect(server.requests == 1)
    }
}

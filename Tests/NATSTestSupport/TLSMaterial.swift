import Foundation

/// A CA, a server certificate (SAN `IP:127.0.0.1`, `DNS:localhost`) and a client
/// certificate, all P-256, generated with `openssl` into a directory: for nats-server's TLS, and
/// for any test that needs a TLS server on loopback.
public struct TLSMaterial: Sendable {
    public let caFile: String
    public let caKeyFile: String
    public let serverCertFile: String
    public let serverKeyFile: String
    public let clientCertFile: String
    public let clientKeyFile: String

    private static let opensslConfig = """
        [req]
        distinguished_name = dn
        prompt = no
        [dn]
        CN = xy test
        [ca_ext]
        basicConstraints = critical, CA:TRUE
        keyUsage = critical, keyCertSign, cRLSign
        subjectKeyIdentifier = hash
        [server_ext]
        basicConstraints = critical, CA:FALSE
        keyUsage = critical, digitalSignature
        extendedKeyUsage = serverAuth
        subjectAltName = IP:127.0.0.1, DNS:localhost
        subjectKeyIdentifier = hash
        authorityKeyIdentifier = keyid
        [client_ext]
        basicConstraints = critical, CA:FALSE
        keyUsage = critical, digitalSignature
        extendedKeyUsage = clientAuth
        subjectKeyIdentifier = hash
        authorityKeyIdentifier = keyid

        """

    /// Generates the files into `directory`.
    public static func generate(in directory: String) async throws -> TLSMaterial {
        guard let opensslPath = ChildProcess.locate("openssl", extraDirectories: ["/usr/bin", "/usr/local/bin"]) else {
            throw NATSServerError(
                .executableNotFound,
                "openssl not found (needed for TLS test certificates): run 'make deps' or 'apt-get install -y openssl'"
            )
        }
        let material = TLSMaterial(
            caFile: directory + "/ca.pem",
            caKeyFile: directory + "/ca-key.pem",
            serverCertFile: directory + "/server-cert.pem",
            serverKeyFile: directory + "/server-key.pem",
            clientCertFile: directory + "/client-cert.pem",
            clientKeyFile: directory + "/client-key.pem"
        )
        let config = directory + "/openssl.cnf"
        let output = directory + "/openssl.log"
        do {
            try opensslConfig.write(toFile: config, atomically: true, encoding: .utf8)
        } catch {
            throw NATSServerError(.setupFailed, "cannot write \(config): \(error)")
        }
        func openssl(_ arguments: String...) async throws {
            try await ChildProcess.run(executable: opensslPath, arguments: arguments, outputPath: output)
        }
        func newKey(_ path: String) async throws {
            try await openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path)
        }

        try await newKey(material.caKeyFile)
        try await openssl(
            "req", "-x509", "-new", "-config", config, "-extensions", "ca_ext", "-key", material.caKeyFile,
            "-subj", "/CN=xy test CA", "-days", "30", "-sha256", "-out", material.caFile
        )
        let leaves = [
            (material.serverKeyFile, material.serverCertFile, "server_ext", "/CN=localhost"),
            (material.clientKeyFile, material.clientCertFile, "client_ext", "/CN=xy test client"),
        ]
        for (index, (key, cert, extensions, subject)) in leaves.enumerated() {
            let request = cert + ".csr"
            try await newKey(key)
            try await openssl("req", "-new", "-config", config, "-key", key, "-subj", subject, "-out", request)
            try await openssl(
                "x509", "-req", "-in", request, "-CA", material.caFile, "-CAkey", material.caKeyFile,
                "-set_serial", String(UInt32.random(in: 1...UInt32.max) &+ UInt32(index)),
                "-days", "30", "-sha256", "-extfile", config, "-extensions", extensions, "-out", cert
            )
        }
        return material
    }
}

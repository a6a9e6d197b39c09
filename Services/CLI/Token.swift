import ArgumentParser
import Foundation
import GatewayAuth
import NIOCore

/// `xy token`: development keys and tokens for the gateway.
struct Token: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Make development keys and gateway tokens (JWT).",
        subcommands: [Keygen.self, Mint.self, JWKSCommand.self]
    )

    struct Keygen: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write an ES256 private key (PEM) and its public key beside it (<name>.pub.pem).")

        @Option(name: .long, help: "Private key file to write, e.g. dev.pem.") var out: String
        @Flag(name: .long, help: "Overwrite existing files.") var force = false

        func run() throws {
            let publicPath = Token.publicKeyPath(for: out)
            if !force {
                for path in [out, publicPath] where FileManager.default.fileExists(atPath: path) {
                    throw Failure("\(path) exists: use --force to overwrite")
                }
            }
            try Token.writeNewKeyPair(to: out)
            printLine(out)
            printLine(publicPath)
        }
    }

    struct Mint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a signed token for the gateway.")

        @Option(name: .long, help: "Private key PEM (ES256 from keygen; RSA and Ed25519 work too).") var key: String
        @Option(name: .long, help: "The token's sub.") var sub: String
        @Option(name: .long, parsing: .upToNextOption, help: "Subject patterns the token grants (e.g. 'xy.md.>'); none: the whitelist.")
        var subjects: [String] = []
        @Option(name: .long, help: "Lifetime: 30s, 15m, 12h.") var ttl: DurationArgument
        @Option(name: .long, help: "max_subs claim.") var maxSubs: Int?
        @Option(name: .long, help: "kid header (default: the key file's name without .pem).") var kid: String?
        @Option(name: .long, help: "iss claim.") var iss: String?
        @Option(name: .long, help: "aud claim.") var aud: String?
        @Option(name: .long, help: "role claim (e.g. admin).") var role: String?

        func validate() throws {
            for pattern in subjects where !SubjectGrants.isValidPattern(pattern) {
                throw ValidationError("'\(pattern)' is not a NATS subject pattern")
            }
            guard ttl.amount.nanoseconds > 0 else { throw ValidationError("--ttl must be more than zero") }
            if let maxSubs, maxSubs < 0 { throw ValidationError("--max-subs must not be negative") }
        }

        func run() async throws {
            printLine(try await Token.mint(
                keyPath: key, sub: sub, subjects: subjects, ttl: ttl.amount, maxSubs: maxSubs, role: role, issuer: iss, audience: aud,
                keyID: kid))
        }
    }

    struct JWKSCommand: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "jwks", abstract: "Print a JWKS document with the key's public half.")

        @Option(name: .long, help: "Private key PEM.") var key: String
        @Option(name: .long, help: "kid (default: the key file's name without .pem).") var kid: String?

        func run() throws {
            printLine(try Token.signingKey(at: key).jwksJSON(keyID: kid ?? Token.defaultKeyID(for: key)))
        }
    }

    /// A failure at run time (files, keys): one line on stderr, no usage text.
    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// Writes a fresh ES256 key: the private PEM (0600) at `path`, the public PEM beside it.
    static func writeNewKeyPair(to path: String) throws {
        let key = TokenSigningKey.generateES256()
        try write(key.privateKeyPEM, to: path, permissions: 0o600)
        try write(key.publicKeyPEM, to: publicKeyPath(for: path), permissions: 0o644)
    }

    /// A token signed by the key at `keyPath`, valid from now for `ttl`; no subjects means the
    /// gateway's whitelist applies. Shared by `xy token mint` and `xy dev init`.
    static func mint(
        keyPath: String, sub: String, subjects: [String], ttl: TimeAmount, maxSubs: Int? = nil, role: String? = nil,
        issuer: String? = nil, audience: String? = nil, keyID: String? = nil
    ) async throws -> String {
        let signingKey = try signingKey(at: keyPath)
        let now = Date()
        let payload = GatewayTokenPayload(
            sub: sub, subjects: subjects.isEmpty ? nil : subjects, maxSubs: maxSubs, role: role, issuer: issuer, audience: audience,
            expires: now.addingTimeInterval(Double(ttl.nanoseconds) / 1e9), issuedAt: now)
        return try await signingKey.sign(payload, keyID: keyID ?? defaultKeyID(for: keyPath))
    }

    /// `dev.pem` → `dev.pub.pem`; a name without `.pem` gets `.pub.pem` appended.
    static func publicKeyPath(for privatePath: String) -> String {
        privatePath.hasSuffix(".pem") ? String(privatePath.dropLast(4)) + ".pub.pem" : privatePath + ".pub.pem"
    }

    /// `keys/dev.pem` → `dev`: mint and jwks agree on the kid without being told.
    static func defaultKeyID(for privatePath: String) -> String {
        let name = URL(fileURLWithPath: privatePath).lastPathComponent
        return name.hasSuffix(".pem") ? String(name.dropLast(4)) : name
    }

    static func signingKey(at path: String) throws -> TokenSigningKey {
        guard let pem = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw Failure("cannot read key file '\(path)'")
        }
        do {
            return try TokenSigningKey(privateKeyPEM: pem)
        } catch {
            throw Failure("\(path): \(error)")
        }
    }

    static func write(_ text: String, to path: String, permissions: Int) throws {
        let data = Data((text.hasSuffix("\n") ? text : text + "\n").utf8)
        guard FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: permissions]) else {
            throw Failure("cannot write '\(path)'")
        }
        // createFile keeps an existing file's mode; a private key must not stay world-readable.
        try FileManager.default.setAttributes([.posixPermissions: permissions], ofItemAtPath: path)
    }
}

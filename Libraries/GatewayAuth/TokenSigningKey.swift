import Foundation
import JWTKit
import XYCore

/// A private key that mints gateway tokens: for development (`xy token`) and tests.
///
/// Production tokens come from the identity provider behind `JWT_JWKS_URL`; this type exists so
/// that a developer can make a key pair, publish its public half (PEM or JWKS) and mint tokens
/// without any other tool, through the same jwt-kit the gateway verifies with.
public struct TokenSigningKey: Sendable {
    private enum Key: Sendable {
        case es256(ES256PrivateKey)
        case rs256(Insecure.RSA.PrivateKey)
        case eddsa(EdDSA.PrivateKey)
    }

    private let key: Key

    /// A fresh ES256 (P-256) key.
    public static func generateES256() -> TokenSigningKey {
        TokenSigningKey(key: .es256(ES256PrivateKey()))
    }

    /// A fresh EdDSA (Ed25519) key.
    public static func generateEdDSA() throws -> TokenSigningKey {
        TokenSigningKey(key: .eddsa(try EdDSA.PrivateKey(curve: .ed25519)))
    }

    private init(key: Key) {
        self.key = key
    }

    /// Reads a PEM private key: EC P-256, RSA or Ed25519.
    public init(privateKeyPEM pem: String) throws {
        if let key = try? ES256PrivateKey(pem: pem) {
            self.key = .es256(key)
        } else if let key = try? Insecure.RSA.PrivateKey(pem: pem) {
            self.key = .rs256(key)
        } else if let key = try? EdDSA.PrivateKey(pem: pem) {
            self.key = .eddsa(key)
        } else {
            throw VerificationKey.KeyError(message: "not an EC P-256, RSA or Ed25519 private key in PEM")
        }
    }

    /// `ES256`, `RS256` or `EdDSA`.
    public var algorithm: String {
        switch key {
        case .es256: "ES256"
        case .rs256: "RS256"
        case .eddsa: "EdDSA"
        }
    }

    /// The private key in PEM: keep it secret.
    public var privateKeyPEM: String {
        switch key {
        case .es256(let key): key.pemRepresentation
        case .rs256(let key): key.pemRepresentation
        case .eddsa(let key): key.pemRepresentation
        }
    }

    /// The public key in PEM, for `JWT_PUBLIC_KEY`.
    public var publicKeyPEM: String {
        switch key {
        case .es256(let key): key.publicKey.pemRepresentation
        case .rs256(let key): key.publicKey.pemRepresentation
        case .eddsa(let key): key.publicKey.pemRepresentation
        }
    }

    /// The public key as a JWK with `kid` and `alg`.
    public func publicJWK(keyID: String) throws -> JWK {
        let kid = JWKIdentifier(string: keyID)
        switch key {
        case .es256(let key):
            guard let parameters = key.parameters else { throw VerificationKey.KeyError(message: "EC key without coordinates") }
            return .ecdsa(.es256, identifier: kid, x: parameters.x, y: parameters.y, curve: .p256)
        case .rs256(let key):
            let primitives = try key.publicKey.getKeyPrimitives()
            return .rsa(.rs256, identifier: kid, modulus: Base64URL.encode(primitives.modulus), exponent: Base64URL.encode(primitives.publicExponent))
        case .eddsa(let key):
            return .octetKeyPair(.eddsa, identifier: kid, x: Base64URL.encode(key.publicKey.rawRepresentation), y: nil, curve: .ed25519)
        }
    }

    /// A JWKS document holding the public key: what `JWT_JWKS_URL` would serve.
    public func jwksJSON(keyID: String) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(JWKS(keys: [try publicJWK(keyID: keyID)])), as: UTF8.self)
    }

    /// Signs `payload`, with `kid` in the header when given.
    public func sign(_ payload: GatewayTokenPayload, keyID: String? = nil) async throws -> String {
        let collection = JWTKeyCollection()
        switch key {
        case .es256(let key): await collection.add(ecdsa: key)
        case .rs256(let key): await collection.add(rsa: key, digestAlgorithm: .sha256)
        case .eddsa(let key): await collection.add(eddsa: key)
        }
        var header = JWTHeader()
        if let keyID { header.kid = keyID }
        return try await collection.sign(payload, header: header)
    }
}

import Foundation
import JWTKit

/// One public key the gateway accepts tokens from, bound to the one algorithm it verifies.
///
/// Binding key and algorithm is what defeats algorithm confusion: a token is checked only by the
/// key whose algorithm equals the token's `alg`, so an RSA public key can never be used as an
/// HMAC secret, and a key published for ES256 never verifies an RS256 token. Only ES256 (P-256),
/// RS256 and EdDSA (Ed25519) keys exist; HMAC keys cannot be made.
public struct VerificationKey: Sendable {
    /// `ES256`, `RS256` or `EdDSA`.
    public let algorithm: String
    /// The `kid` this key answers to (JWKS); nil for a static key, which answers to any `kid`.
    public let keyID: String?
    /// A collection holding only this key, as its default: jwt-kit checks the signature.
    let collection: JWTKeyCollection

    /// The algorithms the gateway accepts.
    public static let acceptedAlgorithms: Set<String> = ["ES256", "RS256", "EdDSA"]

    /// A key from a PEM public key (`-----BEGIN PUBLIC KEY-----`): EC P-256, RSA or Ed25519.
    public static func publicKeyPEM(_ pem: String, keyID: String? = nil) async throws -> VerificationKey {
        let collection = JWTKeyCollection()
        if let key = try? ES256PublicKey(pem: pem) {
            await collection.add(ecdsa: key)
            return VerificationKey(algorithm: "ES256", keyID: keyID, collection: collection)
        }
        if let key = try? Insecure.RSA.PublicKey(pem: pem) {
            await collection.add(rsa: key, digestAlgorithm: .sha256)
            return VerificationKey(algorithm: "RS256", keyID: keyID, collection: collection)
        }
        if let key = try? EdDSA.PublicKey(pem: pem) {
            await collection.add(eddsa: key)
            return VerificationKey(algorithm: "EdDSA", keyID: keyID, collection: collection)
        }
        throw KeyError(message: "not an EC P-256, RSA or Ed25519 public key in PEM")
    }

    /// A key from a JWK of a JWKS document; its `kid` is required, its `alg` optional (inferred
    /// from `kty`/`crv`) but, when present, must agree with the key type.
    public static func jwk(_ jwk: JWK) async throws -> VerificationKey {
        guard let kid = jwk.keyIdentifier?.string, !kid.isEmpty else { throw KeyError(message: "JWK without kid") }
        let declared = jwk.algorithm?.rawValue
        let collection = JWTKeyCollection()
        let algorithm: String
        switch jwk.keyType {
        case .ecdsa:
            guard jwk.curve?.rawValue == "P-256", let x = jwk.x, let y = jwk.y else {
                throw KeyError(message: "EC JWK \(kid) is not a P-256 public key")
            }
            let key = try ES256PublicKey(parameters: (x: x, y: y))
            await collection.add(ecdsa: key)
            algorithm = "ES256"
        case .rsa:
            guard let modulus = jwk.modulus, let exponent = jwk.exponent else {
                throw KeyError(message: "RSA JWK \(kid) has no n/e")
            }
            let key = try Insecure.RSA.PublicKey(modulus: modulus, exponent: exponent)
            await collection.add(rsa: key, digestAlgorithm: .sha256)
            algorithm = "RS256"
        case .octetKeyPair:
            guard jwk.curve?.rawValue == "Ed25519", let x = jwk.x else {
                throw KeyError(message: "OKP JWK \(kid) is not an Ed25519 public key")
            }
            let key = try EdDSA.PublicKey(x: x, curve: .ed25519)
            await collection.add(eddsa: key)
            algorithm = "EdDSA"
        default:
            throw KeyError(message: "JWK \(kid) has unsupported kty \(jwk.keyType.rawValue)")
        }
        if let declared, declared != algorithm {
            throw KeyError(message: "JWK \(kid) declares alg \(declared), gateway accepts \(algorithm) for this key type")
        }
        return VerificationKey(algorithm: algorithm, keyID: kid, collection: collection)
    }

    /// The keys of a JWKS document that the gateway can use, and a reason for each one skipped.
    public static func jwks(json: Data) async throws -> (keys: [VerificationKey], skipped: [String]) {
        // Keys are decoded one by one: a key type jwt-kit does not know (`oct`, …) is skipped
        // rather than failing the whole document.
        guard let object = try? JSONSerialization.jsonObject(with: json), let document = object as? [String: Any],
            let entries = document["keys"] as? [Any]
        else { throw KeyError(message: "not a JWKS document (no \"keys\" array)") }
        var keys: [VerificationKey] = []
        var skipped: [String] = []
        for entry in entries {
            let kid = ((entry as? [String: Any])?["kid"] as? String) ?? "?"
            do {
                let data = try JSONSerialization.data(withJSONObject: entry)
                let jwk = try JSONDecoder().decode(JWK.self, from: data)
                keys.append(try await Self.jwk(jwk))
            } catch let error as KeyError {
                skipped.append(error.message)
            } catch {
                skipped.append("JWK \(kid) unusable: \(error)")
            }
        }
        return (keys, skipped)
    }

    /// A key that cannot be used, and why.
    public struct KeyError: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }
}

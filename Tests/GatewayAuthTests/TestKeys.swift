import Foundation
import GatewayAuth
import JWTKit

/// Keys and token builders for the tests: real keys, real signatures.
enum TestKeys {
    /// A 2048-bit RSA key made for these tests only (RSA generation is not in jwt-kit's API).
    static let rsaPrivatePEM = """
-----BEGIN PRIVATE KEY-----
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQCPvLFxc9i5fhka
YIlEAa/HIf7+ZsfjVoMZyFXEcDqHC9VyU4nToaKKCeyO7aagAptvjRYnpeWL3CgT
7PHtMrMkDiRRcsxTcY4KoNY2Z5tsoAKNT1oFDf6LcE3Ajjhxw6/zQcNs6ZG8PD/t
XiYaLX+1CjalvLAb4EHBOutQC6beeVZd2V9xwuHlqydpg4Ar+cBVok3RYVYjW1EJ
w+iuwsbSHMtffQ9yKY324U2ScXXEaIMu9Of1zS1g5ms9NGwYaD8xTe6Zn94UjI+2
sc+SCQ+sBvxm0XP+UKng94r4IeI+ZeCxpB7j7ZKc9ukCWrud8cCRbd8J77bhLQTR
96mw/qujAgMBAAECggEAC+gYwin+BcjvzGhlxoKQlzbLjYhhvi/FlruqeyYZew6x
ujw4T8B1Gz6HitlzMuW0ZDEJk57hnSHPbMMf0UMgus0Jw3jL0I0OCUxZzPztJOTm
Vo1VtX3Qxv02ZkvXBM7Yguvrg9ifUA/6SFqYXmpuyJuVe5+ImRk3vol3wlQ3bk36
ssWAow9dozO5TK5xAfyEs0+b5NDNYxYR7o1NixL6Lv7Gygl+5W+7f/HMG07qR0r5
YH1KNKnz8xyUOQPWKrHNX3WDxPKc5vNCBEr3NOmyY4JjuQHRi0OyUaREa6npoD7c
wY7i4Ia8/8eWJc0dOtLpeFLLqce/lz0G5PEnHvMkkQKBgQDEmYwyjdBL4r3vTZYE
0qOr4uygvvBMR4fl+/+2PKZP/9Iuqq0cjZkqBebryEpgRJNZ1T8QVUzalLkTzwW8
WPP4M3ArQKuNm4YBKG7ULz3B/BfOW6nS4phz3tOGp26uZVt1uT1T+AHPy6HQi2dh
JjgfxXXgRvzTEGr7z2ApWGXm0wKBgQC7Klw+8rUJ4KChaXy/VcZXOn5SSQncPar9
PwRpIOR8czI4IdSczDfBrahCEI4TXBOoheMkS9t4SoV5rz0VgBgfywOkUCBHQDgY
a66DNSrzyH9CwfOdQNnkUaIVn+Xbip0UYXEbaZfUpkh8IB/wBEwUYToxxcA4K2y/
fPVakdDF8QKBgEDeSRwFHs1rKzBicTV2Kvr0DQ+c8Ly6fWStGVqP+HA9AKTVO/lH
31m2SNNTavcIqXXinsRM4ObeW5LlpAbZcuZaUpBy7ifzQOvw42CvlbkD7Pbx1771
dUgGJdUwOZzhZKQbUtj5498kWWfuF1Y+vhX9mT8/LPyXVjVv31LFEBpxAoGAbfoV
HBPnVvd7y3y9hXw0QFspkNZECfred1JJGDDwsUPLNXqDgOLqvE57ON6bbTrEfli1
wEUmn8dCKN9UiEatZjkXWbyPSu6sR4U2lPhv1bFxPdvTdwp9PhDNqeE74kXPyQL8
wDvKsHRI0U7bFWChB7SdylNFgHvbuaUGUoKt5zECgYAY9Ykm3/so4QLMCLuzT60J
0S4Dp0LshYX8C/B2wMNgSBFn78erUDENc+tTa9OIhkR/Wk0+Dpr5yyD7hmzrQT3e
Uog9uTB0T2VeWaJs3tG/id4c1rRiHh6MPiGV7VQm/NGdoo52ZoQW0EDLjKHrPz4y
HTvwtq0ebn0l7P0CBrJCjA==
-----END PRIVATE KEY-----
"""

    static let es256 = TokenSigningKey.generateES256()
    static let es256Other = TokenSigningKey.generateES256()
    static let rs256 = try! TokenSigningKey(privateKeyPEM: rsaPrivatePEM)
    static let eddsa = try! TokenSigningKey.generateEdDSA()

    /// A payload valid for an hour from now.
    static func payload(
        sub: String? = "alice", subjects: [String]? = ["xy.md.>"], maxSubs: Int? = nil, issuer: String? = nil, audience: String? = nil,
        expires: Date = Date().addingTimeInterval(3600), notBefore: Date? = nil
    ) -> GatewayTokenPayload {
        GatewayTokenPayload(
            sub: sub, subjects: subjects, maxSubs: maxSubs, issuer: issuer, audience: audience, expires: expires, notBefore: notBefore,
            issuedAt: Date())
    }

    /// A verifier holding the public half of a key as a static key (JWT_PUBLIC_KEY).
    static func staticVerifier(_ key: TokenSigningKey, issuer: String? = nil, audience: String? = nil) async throws -> TokenVerifier {
        TokenVerifier(keys: GatewayKeyStore(key: try await VerificationKey.publicKeyPEM(key.publicKeyPEM)), issuer: issuer, audience: audience)
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func base64URL(_ json: String) -> String { base64URL(Data(json.utf8)) }

    /// An unsigned token (alg none) with the given payload.
    static func unsignedToken(_ payload: GatewayTokenPayload, alg: String = "none") throws -> String {
        let body = try JSONEncoder().encode(payload)
        return base64URL("{\"alg\":\"\(alg)\",\"typ\":\"JWT\"}") + "." + base64URL(body) + "."
    }
}

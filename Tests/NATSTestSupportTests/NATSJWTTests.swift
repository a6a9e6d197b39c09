import Crypto
import Foundation
import NKeys
import Testing
import XYCore

@testable import NATSTestSupport

@Suite struct NATSJWTTests {
    let operatorKey = NKeyPair.generate(.operator)
    let accountKey = NKeyPair.generate(.account)
    let userKey = NKeyPair.generate(.user)

    /// Claims parsed by Foundation, independently of the library's own JSON code.
    func claims(_ jwt: String) throws -> [String: Any] {
        let json = try NATSJWT.claimsJSON(jwt)
        return try #require(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }

    func header(_ jwt: String) throws -> [String: Any] {
        let segment = try #require(jwt.split(separator: ".").first)
        let bytes = try #require(Base64URL.decode(segment))
        return try #require(JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    @Test func operatorJWTIsSelfSigned() throws {
        let jwt = try NATSJWT.operatorJWT(name: "xy", operator: operatorKey, issuedAt: 1_700_000_000)
        #expect(NATSJWT.verify(jwt))
        #expect(jwt.split(separator: ".").count == 3)
        #expect(!jwt.contains("="))
        let header = try header(jwt)
        #expect(header["typ"] as? String == "JWT")
        #expect(header["alg"] as? String == "ed25519-nkey")

        let claims = try claims(jwt)
        #expect(claims["iss"] as? String == operatorKey.publicKey)
        #expect(claims["sub"] as? String == operatorKey.publicKey)
        #expect(claims["name"] as? String == "xy")
        #expect(claims["iat"] as? Int == 1_700_000_000)
        let nats = try #require(claims["nats"] as? [String: Any])
        #expect(nats["type"] as? String == "operator")
        #expect(nats["version"] as? Int == 2)
        #expect(nats["system_account"] == nil)
    }

    @Test func operatorJWTNamesTheSystemAccount() throws {
        let system = NKeyPair.generate(.account)
        let jwt = try NATSJWT.operatorJWT(name: "xy", operator: operatorKey, systemAccount: system.publicKey)
        let nats = try #require(try claims(jwt)["nats"] as? [String: Any])
        #expect(nats["system_account"] as? String == system.publicKey)
    }

    @Test func accountJWTIsSignedByTheOperatorWithUnlimitedLimits() throws {
        let jwt = try NATSJWT.accountJWT(name: "APP", account: accountKey.publicKey, signedBy: operatorKey)
        #expect(NATSJWT.verify(jwt))
        let claims = try claims(jwt)
        #expect(claims["iss"] as? String == operatorKey.publicKey)
        #expect(claims["sub"] as? String == accountKey.publicKey)
        let nats = try #require(claims["nats"] as? [String: Any])
        #expect(nats["type"] as? String == "account")
        #expect(nats["version"] as? Int == 2)
        let limits = try #require(nats["limits"] as? [String: Any])
        for key in ["subs", "data", "payload", "imports", "exports", "conn", "leaf",
                    "mem_storage", "disk_storage", "streams", "consumer"] {
            #expect(limits[key] as? Int == -1, "\(key)")
        }
        #expect(limits["wildcards"] as? Bool == true)
        let permissions = try #require(nats["default_permissions"] as? [String: Any])
        #expect(permissions["pub"] is [String: Any])
        #expect(permissions["sub"] is [String: Any])

        let withoutJetStream = try NATSJWT.accountJWT(
            name: "SYS", account: accountKey.publicKey, signedBy: operatorKey, jetStream: false
        )
        let plainNats = try #require(try self.claims(withoutJetStream)["nats"] as? [String: Any])
        let plainLimits = try #require(plainNats["limits"] as? [String: Any])
        #expect(plainLimits["mem_storage"] == nil)
        #expect(plainLimits["subs"] as? Int == -1)
    }

    @Test func userJWTCarriesPermissions() throws {
        let jwt = try NATSJWT.userJWT(
            name: "gateway", user: userKey.publicKey, signedBy: accountKey,
            publishAllow: ["xy.md.snapshot.get.>"], subscribeAllow: ["xy.md.>", "_INBOX.>"],
            subscribeDeny: ["xy.md.secret"], allowResponses: true, expires: 2_000_000_000
        )
        #expect(NATSJWT.verify(jwt))
        let claims = try claims(jwt)
        #expect(claims["iss"] as? String == accountKey.publicKey)
        #expect(claims["sub"] as? String == userKey.publicKey)
        #expect(claims["exp"] as? Int == 2_000_000_000)
        let nats = try #require(claims["nats"] as? [String: Any])
        #expect(nats["type"] as? String == "user")
        #expect(nats["version"] as? Int == 2)
        #expect(nats["subs"] as? Int == -1)
        #expect(nats["data"] as? Int == -1)
        #expect(nats["payload"] as? Int == -1)
        let pub = try #require(nats["pub"] as? [String: Any])
        #expect(pub["allow"] as? [String] == ["xy.md.snapshot.get.>"])
        #expect(pub["deny"] == nil)
        let sub = try #require(nats["sub"] as? [String: Any])
        #expect(sub["allow"] as? [String] == ["xy.md.>", "_INBOX.>"])
        #expect(sub["deny"] as? [String] == ["xy.md.secret"])
        let resp = try #require(nats["resp"] as? [String: Any])
        #expect(resp["max"] as? Int == 1)
        #expect(resp["ttl"] as? Int == 0)
    }

    @Test func userJWTWithoutOptionsHasEmptyPermissionsAndNoExpiry() throws {
        let jwt = try NATSJWT.userJWT(name: "cli", user: userKey.publicKey, signedBy: accountKey)
        let claims = try claims(jwt)
        #expect(claims["exp"] == nil)
        let nats = try #require(claims["nats"] as? [String: Any])
        #expect((nats["pub"] as? [String: Any])?.isEmpty == true)
        #expect((nats["sub"] as? [String: Any])?.isEmpty == true)
        #expect(nats["resp"] == nil)
    }

    @Test func jtiIsTheBase32SHA256OfTheClaimsWithoutIt() throws {
        let jwt = try NATSJWT.userJWT(name: "a", user: userKey.publicKey, signedBy: accountKey, issuedAt: 1)
        guard case .object(var claims)? = JSONValue.parse(Array(try NATSJWT.claimsJSON(jwt).utf8)) else {
            Issue.record("claims are not an object")
            return
        }
        let jti = claims.removeValue(forKey: "jti")?.stringValue
        #expect(jti == Base32.encode(Array(SHA256.hash(data: Array(JSONValue.object(claims).serialized.utf8)))))
        #expect(jti?.count == 52)
        // Same claims, same id; another subject, another id.
        let again = try NATSJWT.userJWT(name: "a", user: userKey.publicKey, signedBy: accountKey, issuedAt: 1)
        #expect(try NATSJWT.decode(again).id == jti)
        let other = try NATSJWT.userJWT(name: "b", user: userKey.publicKey, signedBy: accountKey, issuedAt: 1)
        #expect(try NATSJWT.decode(other).id != jti)
    }

    @Test func decodeReturnsTheRegisteredClaims() throws {
        let jwt = try NATSJWT.userJWT(
            name: "svc", user: userKey.publicKey, signedBy: accountKey, expires: 42, issuedAt: 7
        )
        let claims = try NATSJWT.decode(jwt)
        #expect(claims.issuer == accountKey.publicKey)
        #expect(claims.subject == userKey.publicKey)
        #expect(claims.name == "svc")
        #expect(claims.issuedAt == 7)
        #expect(claims.expires == 42)
        #expect(claims.type == "user")
    }

    @Test func tamperedTokensFailVerification() throws {
        let jwt = try NATSJWT.userJWT(name: "u", user: userKey.publicKey, signedBy: accountKey)
        let parts = jwt.split(separator: ".").map(String.init)

        // Payload rewritten to grant everything, signature kept.
        var claims = try claims(jwt)
        claims["nats"] = ["pub": ["allow": [">"]], "sub": [:], "type": "user", "version": 2]
        let forged = try JSONSerialization.data(withJSONObject: claims, options: .sortedKeys)
        #expect(!NATSJWT.verify([parts[0], Base64URL.encode(forged), parts[2]].joined(separator: ".")))

        // One character of the payload changed.
        var payload = Array(parts[1])
        payload[payload.count / 2] = payload[payload.count / 2] == "A" ? "B" : "A"
        #expect(!NATSJWT.verify([parts[0], String(payload), parts[2]].joined(separator: ".")))

        // Re-signed by a key that is not the issuer named in the claims.
        let impostor = NKeyPair.generate(.account)
        let signature = try impostor.sign(Array("\(parts[0]).\(parts[1])".utf8))
        #expect(!NATSJWT.verify("\(parts[0]).\(parts[1]).\(Base64URL.encode(signature))"))

        // A v2 token signed the v1 way (payload only) is refused.
        let payloadOnly = try accountKey.sign(Array(parts[1].utf8))
        #expect(!NATSJWT.verify("\(parts[0]).\(parts[1]).\(Base64URL.encode(payloadOnly))"))

        // Structural damage.
        #expect(!NATSJWT.verify(parts[0] + "." + parts[1]))
        #expect(!NATSJWT.verify(jwt + ".x"))
        #expect(!NATSJWT.verify(""))
        #expect(code { _ = try NATSJWT.claimsJSON("a.b") } == .invalidJWT)
        #expect(code { _ = try NATSJWT.claimsJSON("e30.e30.AA") } == .invalidJWT)  // header lacks typ/alg
    }

    @Test func verifiesTheNatsGoTestTokens() throws {
        #expect(NATSJWT.verify(JWTTestVectors.accountJWT))
        #expect(NATSJWT.verify(JWTTestVectors.userJWT))
        let account = try NATSJWT.decode(JWTTestVectors.accountJWT)
        #expect(account.issuer == JWTTestVectors.operatorPublicKey)
        #expect(account.subject == JWTTestVectors.accountPublicKey)
        #expect(account.type == "account")
        let user = try NATSJWT.decode(JWTTestVectors.userJWT)
        #expect(user.issuer == JWTTestVectors.accountPublicKey)
        #expect(user.subject == JWTTestVectors.userPublicKey)
        #expect(user.type == "user")
    }

    @Test func refusesKeysOfTheWrongType() throws {
        #expect(code { _ = try NATSJWT.operatorJWT(name: "x", operator: accountKey) } == .wrongKeyType)
        #expect(code { _ = try NATSJWT.accountJWT(name: "x", account: accountKey.publicKey, signedBy: accountKey) }
            == .wrongKeyType)
        #expect(code { _ = try NATSJWT.accountJWT(name: "x", account: userKey.publicKey, signedBy: operatorKey) }
            == .wrongKeyType)
        #expect(code { _ = try NATSJWT.userJWT(name: "x", user: accountKey.publicKey, signedBy: accountKey) }
            == .wrongKeyType)
        #expect(code { _ = try NATSJWT.userJWT(name: "x", user: userKey.publicKey, signedBy: operatorKey) }
            == .wrongKeyType)
        #expect(code { _ = try NATSJWT.userJWT(name: "x", user: "UNOTAKEY", signedBy: accountKey) } != nil)
        let publicOnly = try NKeyPair(publicKey: accountKey.publicKey)
        #expect(code { _ = try NATSJWT.userJWT(name: "x", user: userKey.publicKey, signedBy: publicOnly) }
            == .publicKeyOnly)
    }

    @Test func escapesNamesInClaims() throws {
        let name = "quote \" backslash \\ newline \n tab \t"
        let jwt = try NATSJWT.userJWT(name: name, user: userKey.publicKey, signedBy: accountKey)
        #expect(NATSJWT.verify(jwt))
        #expect(try claims(jwt)["name"] as? String == name)
    }
}

/// The code of the `NKeyError` that `body` throws, or nil when it does not throw; any other
/// error is recorded as an issue.
private func code(_ body: () throws -> Void) -> NKeyError.Code? {
    do {
        try body()
        return nil
    } catch let error as NKeyError {
        return error.code
    } catch {
        Issue.record("expected an NKeyError, got \(error)")
        return nil
    }
}

import Crypto
import Foundation
import NKeys
import XYCore

/// Issues and checks NATS v2 JWTs (operator, account, user), enough to run `nats-server`
/// in operator mode with a MEMORY resolver and to hand users creds files. Test support only:
/// no service issues NATS JWTs (deployments use nsc or static users).
///
/// Claims follow the nats-io/jwt v2 layout: registered claims at the top, everything
/// NATS-specific under `nats`, with `nats.type` and `nats.version` = 2.
public enum NATSJWT {
    /// The JOSE header of every token we issue; `ed25519-nkey` marks the v2 format.
    static let header = #"{"typ":"JWT","alg":"ed25519-nkey"}"#

    /// A self-signed operator JWT (`iss` == `sub`), the server's `operator:` trust anchor.
    /// `systemAccount` names the account the server uses for its own traffic.
    public static func operatorJWT(
        name: String,
        operator keyPair: NKeyPair,
        systemAccount: String? = nil,
        issuedAt: Int? = nil
    ) throws(NKeyError) -> String {
        try require(keyPair, is: .operator, "an operator JWT must be signed by an operator key")
        var nats: [String: JSONValue] = ["type": .string("operator"), "version": .int(2)]
        if let systemAccount {
            try requirePublicKey(systemAccount, is: .account, "system account")
            nats["system_account"] = .string(systemAccount)
        }
        return try encode(name: name, subject: keyPair.publicKey, nats: nats, issuer: keyPair, issuedAt: issuedAt)
    }

    /// An account JWT signed by the operator, with every limit unlimited. With `jetStream`
    /// the JetStream limits are unlimited too, which enables JetStream for the account;
    /// leave it off for the system account, which the server refuses to give JetStream.
    public static func accountJWT(
        name: String,
        account publicKey: String,
        signedBy operatorKey: NKeyPair,
        jetStream: Bool = true,
        issuedAt: Int? = nil
    ) throws(NKeyError) -> String {
        try require(operatorKey, is: .operator, "an account JWT must be signed by an operator key")
        try requirePublicKey(publicKey, is: .account, "account")
        var limits: [String: JSONValue] = [
            "subs": .int(-1), "data": .int(-1), "payload": .int(-1),
            "imports": .int(-1), "exports": .int(-1), "wildcards": .bool(true),
            "conn": .int(-1), "leaf": .int(-1),
        ]
        if jetStream {
            for key in ["mem_storage", "disk_storage", "streams", "consumer"] { limits[key] = .int(-1) }
        }
        let nats: [String: JSONValue] = [
            "limits": .object(limits),
            "default_permissions": .object(["pub": .object([:]), "sub": .object([:])]),
            "type": .string("account"),
            "version": .int(2),
        ]
        return try encode(name: name, subject: publicKey, nats: nats, issuer: operatorKey, issuedAt: issuedAt)
    }

    /// A user JWT signed by its account. Empty lists are left out (no restriction of that
    /// kind); `allowResponses` lets the user publish one reply to each request it receives.
    /// `expires` is seconds since the epoch.
    public static func userJWT(
        name: String,
        user publicKey: String,
        signedBy account: NKeyPair,
        publishAllow: [String] = [],
        publishDeny: [String] = [],
        subscribeAllow: [String] = [],
        subscribeDeny: [String] = [],
        allowResponses: Bool = false,
        expires: Int? = nil,
        issuedAt: Int? = nil
    ) throws(NKeyError) -> String {
        try require(account, is: .account, "a user JWT must be signed by an account key")
        try requirePublicKey(publicKey, is: .user, "user")
        var nats: [String: JSONValue] = [
            "pub": permission(allow: publishAllow, deny: publishDeny),
            "sub": permission(allow: subscribeAllow, deny: subscribeDeny),
            "subs": .int(-1), "data": .int(-1), "payload": .int(-1),
            "type": .string("user"),
            "version": .int(2),
        ]
        if allowResponses {
            // ttl is a Go duration in nanoseconds; 0 lets the server apply its default.
            nats["resp"] = .object(["max": .int(1), "ttl": .int(0)])
        }
        return try encode(
            name: name, subject: publicKey, nats: nats, issuer: account, issuedAt: issuedAt, expires: expires
        )
    }

    /// Whether `jwt` carries a valid NATS header and an ed25519 signature by the key in its
    /// own `iss` claim. It does not check expiry, nor whether that issuer is trusted.
    ///
    /// As in nats-io/jwt, v2 tokens sign `header.payload` and v1 tokens (a top-level `type`
    /// claim) sign the payload segment alone.
    public static func verify(_ jwt: String) -> Bool {
        guard let token = try? Token(jwt), let issuer = token.claims["iss"]?.stringValue,
              let key = try? NKeyPair(publicKey: issuer)
        else { return false }
        guard token.version <= 2 else { return false }
        let signed = token.version <= 1 ? token.payloadSegment : token.signedPart
        return key.verify(signature: token.signature, message: signed.utf8)
    }

    /// The decoded claims (payload) JSON text of `jwt`, without checking the signature.
    public static func claimsJSON(_ jwt: String) throws(NKeyError) -> String {
        String(decoding: try Token(jwt).payload, as: UTF8.self)
    }

    /// The common claims of `jwt`, without checking the signature (call `verify` for that).
    public static func decode(_ jwt: String) throws(NKeyError) -> Claims {
        let claims = try Token(jwt).claims
        return Claims(
            id: claims["jti"]?.stringValue,
            issuer: claims["iss"]?.stringValue ?? "",
            subject: claims["sub"]?.stringValue ?? "",
            name: claims["name"]?.stringValue,
            issuedAt: claims["iat"]?.intValue,
            expires: claims["exp"]?.intValue,
            type: claims["nats"]?["type"]?.stringValue ?? claims["type"]?.stringValue
        )
    }

    /// The registered claims plus `nats.type`, for logging and checks that need no NATS details.
    public struct Claims: Sendable, Hashable {
        /// `jti`, the token's id.
        public var id: String?
        /// `iss`, the public key that signed the token.
        public var issuer: String
        /// `sub`, the public key the token is about.
        public var subject: String
        /// `name`, a human label.
        public var name: String?
        /// `iat`, seconds since the epoch.
        public var issuedAt: Int?
        /// `exp`, seconds since the epoch; nil when the token does not expire.
        public var expires: Int?
        /// `nats.type` (`operator`, `account`, `user`; top-level `type` in v1 tokens).
        public var type: String?
    }
}

extension NATSJWT {
    private static func permission(allow: [String], deny: [String]) -> JSONValue {
        var members: [String: JSONValue] = [:]
        if !allow.isEmpty { members["allow"] = .array(allow.map(JSONValue.string)) }
        if !deny.isEmpty { members["deny"] = .array(deny.map(JSONValue.string)) }
        return .object(members)
    }

    private static func require(_ key: NKeyPair, is type: NKeyType, _ message: String) throws(NKeyError) {
        guard key.type == type else { throw NKeyError(.wrongKeyType, "\(message), got a key of type \(key.type)") }
    }

    private static func requirePublicKey(_ text: String, is type: NKeyType, _ role: String) throws(NKeyError) {
        let key = try NKeyPair(publicKey: text)
        guard key.type == type else {
            throw NKeyError(.wrongKeyType, "the \(role) must be a public key of type \(type), got \(key.type)")
        }
    }

    /// Signs the claims as the nats-io/jwt library does: `jti` is computed over the claims
    /// without it, then header and claims are base64url'd and `header.claims` is signed.
    private static func encode(
        name: String,
        subject: String,
        nats: [String: JSONValue],
        issuer: NKeyPair,
        issuedAt: Int?,
        expires: Int? = nil
    ) throws(NKeyError) -> String {
        var claims: [String: JSONValue] = [
            "iat": .int(issuedAt ?? Int(Date().timeIntervalSince1970)),
            "iss": .string(issuer.publicKey),
            "name": .string(name),
            "sub": .string(subject),
            "nats": .object(nats),
        ]
        if let expires { claims["exp"] = .int(expires) }
        claims["jti"] = .string(Base32.encode(Array(SHA256.hash(data: Array(JSONValue.object(claims).serialized.utf8)))))
        let payload = JSONValue.object(claims).serialized
        let signedPart = Base64URL.encode(header.utf8) + "." + Base64URL.encode(payload.utf8)
        let signature = try issuer.sign(signedPart.utf8)
        return signedPart + "." + Base64URL.encode(signature)
    }

    /// A token split into its parts, with header checked and claims parsed.
    private struct Token {
        /// `header.payload`, what a v2 signature covers.
        var signedPart: Substring
        /// The payload segment, what a v1 signature covers.
        var payloadSegment: Substring
        var payload: [UInt8]
        var claims: JSONValue
        var signature: [UInt8]

        /// The claims format: 1 when a top-level `type` is present, else `nats.version` (0 if absent).
        var version: Int {
            if let type = claims["type"]?.stringValue, !type.isEmpty { return 1 }
            return claims["nats"]?["version"]?.intValue ?? 0
        }

        init(_ jwt: String) throws(NKeyError) {
            let trimmed = jwt.trimmingCharacters(in: .whitespacesAndNewlines)
            let parts = trimmed.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 3 else {
                throw NKeyError(.invalidJWT, "a JWT has three dot-separated segments, found \(parts.count)")
            }
            guard let headerBytes = Base64URL.decode(parts[0]), let payload = Base64URL.decode(parts[1]),
                  let signature = Base64URL.decode(parts[2])
            else { throw NKeyError(.invalidJWT, "a JWT segment is not base64url") }
            guard let header = JSONValue.parse(headerBytes),
                  header["typ"]?.stringValue?.uppercased() == "JWT",
                  let alg = header["alg"]?.stringValue?.lowercased(), alg == "ed25519-nkey" || alg == "ed25519"
            else { throw NKeyError(.invalidJWT, "the header is not a NATS JWT header") }
            guard let claims = JSONValue.parse(payload), case .object = claims else {
                throw NKeyError(.invalidJWT, "the claims are not a JSON object")
            }
            self.signedPart = trimmed[parts[0].startIndex..<parts[1].endIndex]
            self.payloadSegment = parts[1]
            self.payload = payload
            self.claims = claims
            self.signature = signature
        }
    }
}

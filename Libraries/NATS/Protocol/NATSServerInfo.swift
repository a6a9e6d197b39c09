#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The server's `INFO`: what it requires of us (TLS, auth nonce), its limits, and the cluster's other URLs.
public struct NATSServerInfo: Sendable, Decodable, Equatable {
    public var serverID: String
    public var serverName: String?
    public var version: String?
    public var proto: Int?
    public var headers: Bool?
    public var maxPayload: Int
    public var tlsRequired: Bool?
    public var tlsVerify: Bool?
    public var tlsAvailable: Bool?
    public var authRequired: Bool?
    public var nonce: String?
    public var connectURLs: [String]?
    public var lameDuckMode: Bool?
    public var clientID: UInt64?
    public var clientIP: String?
    public var jetStream: Bool?
    public var domain: String?

    enum CodingKeys: String, CodingKey {
        case serverID = "server_id"
        case serverName = "server_name"
        case version, proto, headers
        case maxPayload = "max_payload"
        case tlsRequired = "tls_required"
        case tlsVerify = "tls_verify"
        case tlsAvailable = "tls_available"
        case authRequired = "auth_required"
        case nonce
        case connectURLs = "connect_urls"
        case lameDuckMode = "ldm"
        case clientID = "client_id"
        case clientIP = "client_ip"
        case jetStream = "jetstream"
        case domain
    }

    /// Decodes the JSON that follows `INFO`.
    static func decode(_ json: String) throws(NATSError) -> NATSServerInfo {
        do {
            return try JSONDecoder().decode(NATSServerInfo.self, from: Data(json.utf8))
        } catch {
            throw NATSError(.protocolError, "malformed INFO: \(error)")
        }
    }
}

/// The fields of our `CONNECT`; nil fields are left out of the JSON.
struct NATSConnectOptions: Encodable {
    var verbose = false
    var pedantic = false
    var tlsRequired: Bool
    var name: String?
    var lang = "swift"
    var version = NATSClient.version
    var `protocol` = 1
    var echo: Bool
    var headers = true
    var noResponders = true
    var user: String?
    var pass: String?
    var authToken: String?
    var nkey: String?
    var sig: String?
    var jwt: String?

    enum CodingKeys: String, CodingKey {
        case verbose, pedantic
        case tlsRequired = "tls_required"
        case name, lang, version
        case `protocol`
        case echo, headers
        case noResponders = "no_responders"
        case user, pass
        case authToken = "auth_token"
        case nkey, sig, jwt
    }

    func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a struct of strings and booleans cannot fail.
        let data = (try? encoder.encode(self)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOConcurrencyHelpers
import NIOCore

/// Where and how the JetStream API is reached: prefix or domain, request timeout, publish retries.
public struct JetStreamOptions: Sendable {
    /// API subject prefix; `$JS.API` unless the account imports JetStream under another name.
    public var apiPrefix: String = "$JS.API"
    /// A JetStream domain (leaf nodes); when set, the prefix becomes `$JS.<domain>.API`.
    public var domain: String?
    /// Time limit of every API call and acknowledged publish.
    public var timeout: TimeAmount = .seconds(5)
    /// Extra attempts when a publish finds no responders (503), e.g. while a stream leader moves.
    public var publishRetries: Int = 2
    /// Pause between those attempts.
    public var publishRetryWait: TimeAmount = .milliseconds(250)

    public init() {}

    /// The prefix every API subject starts with.
    public var resolvedPrefix: String {
        if let domain, !domain.isEmpty { return "$JS.\(domain).API" }
        return apiPrefix.hasSuffix(".") ? String(apiPrefix.dropLast()) : apiPrefix
    }
}

/// The JetStream context: streams, acknowledged publishes, stored-message reads, consumers and
/// key-value buckets, all as requests on the core client's connection.
public struct JetStream: Sendable {
    public let client: NATSClient
    public let options: JetStreamOptions
    let prefix: String
    /// `allow_direct` per stream, learned once, so `getMessage` picks direct get without an info call each time.
    let directCache: NIOLockedValueBox<[String: Bool]>

    public init(client: NATSClient, options: JetStreamOptions = JetStreamOptions()) {
        self.client = client
        self.options = options
        self.prefix = options.resolvedPrefix
        self.directCache = NIOLockedValueBox([:])
    }

    /// One API call: JSON in, JSON out; an `error` object becomes a `JetStreamError` with its codes.
    nonisolated(nonsending) func apiRequest<Response: Decodable>(
        _ api: String, body: ByteBuffer = ByteBuffer(), as type: Response.Type
    ) async throws -> Response {
        let reply: NATSMessage
        do {
            reply = try await client.request("\(prefix).\(api)", payload: body, timeout: options.timeout)
        } catch let error as NATSError where error.code == .noResponders {
            throw JetStreamError(.notEnabled, "no JetStream responds on \(prefix).\(api)")
        }
        return try Self.decodeAPIResponse(reply.payload, as: type)
    }

    /// An API call with an `Encodable` request body.
    nonisolated(nonsending) func apiRequest<Request: Encodable, Response: Decodable>(
        _ api: String, json request: Request, as type: Response.Type
    ) async throws -> Response {
        try await apiRequest(api, body: try Self.encode(request), as: type)
    }

    static func encode(_ value: some Encodable) throws -> ByteBuffer {
        ByteBuffer(bytes: try JSONEncoder().encode(value))
    }

    static func decodeAPIResponse<Response: Decodable>(_ payload: ByteBuffer, as type: Response.Type) throws -> Response {
        let data = Data(payload.readableBytesView)
        let decoder = JSONDecoder()
        if let envelope = try? decoder.decode(APIErrorEnvelope.self, from: data), let error = envelope.error {
            throw JetStreamError(
                .api, error.description ?? "JetStream API error",
                status: error.code, errorCode: error.errCode.map(JetStreamError.ErrorCode.init(rawValue:))
            )
        }
        do {
            return try decoder.decode(type, from: data)
        } catch {
            throw JetStreamError(.invalidResponse, "cannot decode \(Response.self): \(error)")
        }
    }
}

extension NATSClient {
    /// A JetStream context on this connection.
    public func jetStream(_ options: JetStreamOptions = JetStreamOptions()) -> JetStream {
        JetStream(client: self, options: options)
    }
}

/// The `error` member every JetStream API response may carry.
struct APIErrorEnvelope: Decodable {
    struct APIError: Decodable {
        var code: Int?
        var errCode: Int?
        var description: String?

        enum CodingKeys: String, CodingKey {
            case code
            case errCode = "err_code"
            case description
        }
    }

    var error: APIError?
}

/// `{"success": true}` answers (delete).
struct APISuccessResponse: Decodable {
    var success: Bool
}

/// Name rules shared by streams, consumers and buckets (ADR-6): printable, no `.`, `*`, `>`, path separators or whitespace.
enum JetStreamNames {
    static func validate(_ name: String, what: String) throws {
        guard !name.isEmpty, name.utf8.count <= 255 else {
            throw JetStreamError(.invalidName, "\(what) name must have 1 to 255 bytes")
        }
        for byte in name.utf8 {
            switch byte {
            case 0...0x20, 0x7F, UInt8(ascii: "."), UInt8(ascii: "*"), UInt8(ascii: ">"),
                 UInt8(ascii: "/"), UInt8(ascii: "\\"):
                throw JetStreamError(.invalidName, "invalid \(what) name '\(name)': no whitespace, '.', '*', '>', '/' or '\\'")
            default:
                continue
            }
        }
    }
}

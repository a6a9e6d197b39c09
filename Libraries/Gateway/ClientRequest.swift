#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore

/// What a browser asks of the gateway, one JSON text frame each: `{"op":"subscribe","subject":…}`,
/// `{"op":"unsubscribe","subject":…}`, `{"op":"ping"}`; an optional `"id"` is echoed in the answer
/// so a client can match replies to requests.
public enum ClientRequest: Hashable, Sendable {
    case subscribe(subject: String, id: String?)
    case unsubscribe(subject: String, id: String?)
    case ping(id: String?)

    /// Why a frame is not a request (XYW007); the text goes back to the client, so it names the
    /// problem without echoing the frame.
    public struct ParseError: Error, Hashable, Sendable {
        public var reason: String
    }

    /// Longest frame we try to read as a request; anything larger is malformed at once.
    public static let maximumLength = 4096

    public static func parse(_ frame: ByteBuffer) throws(ParseError) -> ClientRequest {
        guard frame.readableBytes <= maximumLength else {
            throw ParseError(reason: "request frame larger than \(maximumLength) bytes")
        }
        let wire: WireRequest
        do {
            wire = try JSONDecoder().decode(WireRequest.self, from: Data(frame.readableBytesView))
        } catch let error as ParseError {
            throw error
        } catch {
            throw ParseError(reason: "not a JSON object with string members \"op\", \"subject\" and an optional \"id\"")
        }
        guard let op = wire.op else { throw ParseError(reason: "missing \"op\"") }
        let id = wire.id
        if let text = id, text.utf8.count > 64 { throw ParseError(reason: "\"id\" longer than 64 bytes") }
        let fields = wire
        switch op {
        case "subscribe", "unsubscribe":
            guard let subject = fields.subject else { throw ParseError(reason: "\(op) needs a \"subject\" string") }
            return op == "subscribe" ? .subscribe(subject: subject, id: id) : .unsubscribe(subject: subject, id: id)
        case "ping":
            return .ping(id: id)
        default:
            throw ParseError(reason: "unknown op (subscribe, unsubscribe, ping)")
        }
    }

    /// The frame's members; `id` may be a string or an integer (echoed back as text).
    private struct WireRequest: Decodable {
        var op: String?
        var subject: String?
        var id: String?

        enum CodingKeys: String, CodingKey {
            case op, subject, id
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            op = try container.decodeIfPresent(String.self, forKey: .op)
            subject = try container.decodeIfPresent(String.self, forKey: .subject)
            if try !container.contains(.id) || container.decodeNil(forKey: .id) {
                id = nil
            } else if let text = try? container.decode(String.self, forKey: .id) {
                id = text
            } else if let number = try? container.decode(Int64.self, forKey: .id) {
                id = String(number)
            } else {
                throw ParseError(reason: "\"id\" must be a string or an integer")
            }
        }
    }
}

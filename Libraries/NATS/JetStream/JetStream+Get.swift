#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore

/// A message as the stream stored it: where, when, and what.
public struct JetStreamStoredMessage: Sendable {
    public var stream: String
    public var subject: String
    public var sequence: UInt64
    /// Store time in nanoseconds since the Unix epoch (0 if the server sent none).
    public var timeNanoseconds: Int64
    /// The publisher's headers (the direct-get bookkeeping headers removed).
    public var headers: NATSHeaders?
    public var payload: ByteBuffer
}

extension JetStream {
    /// The message stored at `sequence`; `noMessageFound` (10037) if there is none.
    /// `direct` nil uses direct get when the stream allows it.
    nonisolated(nonsending) public func getMessage(
        stream: String, sequence: UInt64, direct: Bool? = nil
    ) async throws -> JetStreamStoredMessage {
        try await getMessage(stream: stream, request: MessageGetRequest(seq: sequence, lastBySubject: nil), direct: direct)
    }

    /// The newest message stored for `subject` (the current value of a key, the last tick batch of a group).
    nonisolated(nonsending) public func getLastMessage(
        stream: String, subject: String, direct: Bool? = nil
    ) async throws -> JetStreamStoredMessage {
        guard NATSSubjectValidation.isValidPublishSubject(subject) else {
            throw NATSError(.invalidSubject, "invalid subject '\(subject)'")
        }
        return try await getMessage(stream: stream, request: MessageGetRequest(seq: nil, lastBySubject: subject), direct: direct)
    }

    nonisolated(nonsending) private func getMessage(
        stream: String, request: MessageGetRequest, direct: Bool?
    ) async throws -> JetStreamStoredMessage {
        try JetStreamNames.validate(stream, what: "stream")
        let useDirect: Bool
        if let direct {
            useDirect = direct
        } else if let known = directCache.withLockedValue({ $0[stream] }) {
            useDirect = known
        } else {
            useDirect = try await streamInfo(stream).config.allowDirect
        }
        if useDirect {
            return try await directGet(stream: stream, request: request)
        }
        let response = try await apiRequest("STREAM.MSG.GET.\(stream)", json: request, as: MessageGetResponse.self)
        return try response.message.stored(in: stream)
    }

    /// `DIRECT.GET`: any replica answers with the raw message and `Nats-*` headers, no JSON or base64.
    nonisolated(nonsending) private func directGet(stream: String, request: MessageGetRequest) async throws -> JetStreamStoredMessage {
        let reply: NATSMessage
        do {
            reply = try await client.request("\(prefix).DIRECT.GET.\(stream)", payload: try Self.encode(request), timeout: options.timeout)
        } catch let error as NATSError where error.code == .noResponders {
            throw JetStreamError(.notEnabled, "no JetStream responds to direct get on stream '\(stream)'")
        }
        if let status = reply.status {
            let text = reply.headers?.statusDescription ?? "status \(status)"
            if status == 404 {
                throw JetStreamError(.api, "no message found", status: 404, errorCode: .noMessageFound)
            }
            throw JetStreamError(.api, text, status: Int(status))
        }
        guard var headers = reply.headers,
              let subject = headers[JetStreamHeader.subject],
              let sequence = headers[JetStreamHeader.sequence].flatMap(UInt64.init)
        else {
            throw JetStreamError(.invalidResponse, "direct get reply without Nats-Subject/Nats-Sequence")
        }
        let time = headers[JetStreamHeader.timeStamp].flatMap(RFC3339.nanoseconds) ?? 0
        for name in [JetStreamHeader.stream, JetStreamHeader.subject, JetStreamHeader.sequence, JetStreamHeader.timeStamp] {
            headers.remove(name)
        }
        return JetStreamStoredMessage(
            stream: stream, subject: subject, sequence: sequence, timeNanoseconds: time,
            headers: headers.isEmpty ? nil : headers, payload: reply.payload
        )
    }
}

private struct MessageGetRequest: Encodable {
    var seq: UInt64?
    var lastBySubject: String?

    enum CodingKeys: String, CodingKey {
        case seq
        case lastBySubject = "last_by_subj"
    }
}

private struct MessageGetResponse: Decodable {
    struct Message: Decodable {
        var subject: String
        var seq: UInt64
        var hdrs: String?
        var data: String?
        var time: String?

        func stored(in stream: String) throws -> JetStreamStoredMessage {
            var headers: NATSHeaders?
            if let hdrs, !hdrs.isEmpty {
                guard let block = Data(base64Encoded: hdrs) else {
                    throw JetStreamError(.invalidResponse, "stored headers are not base64")
                }
                headers = try block.withUnsafeBytes { try NATSHeaderParser.parse($0) }
            }
            var payload = ByteBuffer()
            if let data, !data.isEmpty {
                guard let bytes = Data(base64Encoded: data) else {
                    throw JetStreamError(.invalidResponse, "stored payload is not base64")
                }
                payload = ByteBuffer(bytes: bytes)
            }
            return JetStreamStoredMessage(
                stream: stream, subject: subject, sequence: seq,
                timeNanoseconds: time.flatMap(RFC3339.nanoseconds) ?? 0,
                headers: headers.flatMap { $0.isEmpty ? nil : $0 }, payload: payload
            )
        }
    }

    var message: Message
}

/// RFC 3339 timestamps as nats-server writes them (`2024-05-01T12:00:00.123456789Z`, or with an offset),
/// to nanoseconds since the epoch without a date formatter.
enum RFC3339 {
    static func nanoseconds(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        func number(_ start: Int, _ count: Int) -> Int64? {
            guard start + count <= b.count else { return nil }
            var value: Int64 = 0
            for byte in b[start..<start + count] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            return value
        }
        guard b.count >= 20, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
              b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t") || b[10] == UInt8(ascii: " "),
              b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
              let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var index = 19
        var fraction: Int64 = 0
        if index < b.count, b[index] == UInt8(ascii: ".") {
            index += 1
            var digits = 0
            while index < b.count, b[index] >= 48, b[index] <= 57 {
                if digits < 9 { fraction = fraction * 10 + Int64(b[index] - 48) }
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            var scale = digits
            while scale < 9 {
                fraction *= 10
                scale += 1
            }
        }
        var offsetSeconds: Int64 = 0
        guard index < b.count else { return nil }
        switch b[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            guard index + 1 == b.count else { return nil }
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard index + 6 == b.count, b[index + 3] == UInt8(ascii: ":"),
                  let h = number(index + 1, 2), let m = number(index + 4, 2) else { return nil }
            offsetSeconds = (h * 3600 + m * 60) * (b[index] == UInt8(ascii: "+") ? 1 : -1)
        default:
            return nil
        }
        // Days from 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's civil algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return seconds * 1_000_000_000 + fraction
    }
}

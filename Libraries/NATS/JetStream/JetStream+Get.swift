#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore
import XYCore

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
        let time = headers[JetStreamHeader.timeStamp].flatMap(ISO8601.nanoseconds) ?? 0
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
                timeNanoseconds: time.flatMap(ISO8601.nanoseconds) ?? 0,
                headers: headers.flatMap { $0.isEmpty ? nil : $0 }, payload: payload
            )
        }
    }

    var message: Message
}

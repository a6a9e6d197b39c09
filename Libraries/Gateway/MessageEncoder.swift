import NIOCore
import SwiftProtobuf
import XYContracts

/// The frame encoding a connection negotiated: `xy.v1.json` text frames or `xy.v1.proto` binary frames.
public enum FrameEncoding: Sendable, Hashable {
    case json
    case proto

    /// From the negotiated subprotocol name.
    public init(subprotocol: String) {
        self = subprotocol == "xy.v1.proto" ? .proto : .json
    }
}

/// One server message as finished WebSocket frames in both encodings, built once per message and
/// shared by every connection that receives it.
public struct EncodedFrames: Sendable {
    public let json: ByteBuffer
    public let proto: ByteBuffer

    public subscript(_ encoding: FrameEncoding) -> ByteBuffer {
        encoding == .json ? json : proto
    }
}

/// Turns NATS payloads and control answers into frames; `source` names this gateway instance in
/// every envelope.
public struct MessageEncoder: Sendable {
    public let source: String

    public init(source: String) {
        self.source = source
    }

    public func tick(_ batch: Xy_Md_V1_TickBatch, subject: String, nowNs: Int64) -> EncodedFrames {
        EncodedFrames(json: tickFrame(batch, subject: subject, nowNs: nowNs, .json), proto: tickFrame(batch, subject: subject, nowNs: nowNs, .proto))
    }

    /// One encoding of a tick batch: the hub encodes `xy.v1.proto` only while a proto client holds the topic.
    public func tickFrame(_ batch: Xy_Md_V1_TickBatch, subject: String, nowNs: Int64, _ encoding: FrameEncoding) -> ByteBuffer {
        guard encoding == .proto else {
            return WebSocketWire.frame(.text, payload: EnvelopeJSON.tick(batch, subject: subject, source: source, nowNs: nowNs))
        }
        var message = envelope(.tick, subject: subject, seq: batch.seq, nowNs: nowNs)
        message.epoch = batch.epoch
        message.tick = batch
        return Self.binary(message)
    }

    public func snapshot(_ snapshot: Xy_Md_V1_Snapshot, subject: String, nowNs: Int64) -> EncodedFrames {
        EncodedFrames(json: snapshotFrame(snapshot, subject: subject, nowNs: nowNs, .json), proto: snapshotFrame(snapshot, subject: subject, nowNs: nowNs, .proto))
    }

    /// One encoding of a snapshot (see ``tickFrame(_:subject:nowNs:_:)``).
    public func snapshotFrame(_ snapshot: Xy_Md_V1_Snapshot, subject: String, nowNs: Int64, _ encoding: FrameEncoding) -> ByteBuffer {
        guard encoding == .proto else {
            return WebSocketWire.frame(.text, payload: EnvelopeJSON.snapshot(snapshot, subject: subject, source: source, nowNs: nowNs))
        }
        var message = envelope(.snapshot, subject: subject, seq: snapshot.seq, nowNs: nowNs)
        message.epoch = snapshot.epoch
        message.snapshot = snapshot
        return Self.binary(message)
    }

    public func bar(_ bar: Xy_Md_V1_Bar, subject: String, nowNs: Int64) -> EncodedFrames {
        var message = envelope(.bar, subject: subject, seq: 0, nowNs: nowNs)
        message.bar = bar
        return EncodedFrames(
            json: WebSocketWire.frame(.text, payload: EnvelopeJSON.bar(bar, subject: subject, source: source, nowNs: nowNs)),
            proto: Self.binary(message))
    }

    /// What a control message says; absent members are left out of the JSON `data`.
    public struct Control: Sendable, Hashable {
        public var type: Xy_Gateway_V1_MessageType
        public var subject: String?
        public var id: String?
        public var code: String?
        public var message: String?
        public var state: String?

        public init(_ type: Xy_Gateway_V1_MessageType, subject: String? = nil, id: String? = nil, code: String? = nil, message: String? = nil, state: String? = nil) {
            self.type = type
            self.subject = subject
            self.id = id
            self.code = code
            self.message = message
            self.state = state
        }
    }

    public func control(_ control: Control, nowNs: Int64) -> EncodedFrames {
        var fields: [(String, String)] = []
        if let id = control.id { fields.append(("id", id)) }
        if let code = control.code { fields.append(("code", code)) }
        if let text = control.message { fields.append(("message", text)) }
        if let state = control.state { fields.append(("state", state)) }
        let json = EnvelopeJSON.control(
            type: Self.name(control.type), subject: control.subject, fields: fields, source: source, nowNs: nowNs)
        var message = envelope(control.type, subject: control.subject ?? "", seq: 0, nowNs: nowNs)
        var data = Xy_Gateway_V1_Control()
        data.id = control.id ?? ""
        data.code = control.code ?? ""
        data.message = control.message ?? ""
        data.state = control.state ?? ""
        message.control = data
        return EncodedFrames(json: WebSocketWire.frame(.text, payload: json), proto: Self.binary(message))
    }

    /// The JSON `type` of each message type.
    static func name(_ type: Xy_Gateway_V1_MessageType) -> String {
        switch type {
        case .snapshot: "snapshot"
        case .tick: "tick"
        case .bar: "bar"
        case .subscribed: "subscribed"
        case .unsubscribed: "unsubscribed"
        case .pong: "pong"
        case .status: "status"
        case .error: "error"
        case .unspecified, .UNRECOGNIZED: "unknown"
        }
    }

    private func envelope(_ type: Xy_Gateway_V1_MessageType, subject: String, seq: UInt64, nowNs: Int64) -> Xy_Gateway_V1_ServerMessage {
        var message = Xy_Gateway_V1_ServerMessage()
        message.type = type
        message.subject = subject
        message.seq = seq
        message.tsNs = nowNs
        message.source = source
        return message
    }

    private static func binary(_ message: Xy_Gateway_V1_ServerMessage) -> ByteBuffer {
        // Serializing a message built from decoded contracts cannot fail (no required fields in proto3).
        let bytes: [UInt8] = (try? message.serializedBytes()) ?? []
        return WebSocketWire.frame(.binary, payload: ByteBuffer(bytes: bytes))
    }
}

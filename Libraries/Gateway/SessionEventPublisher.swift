import Logging
import NATS
import NIOCore
import SwiftProtobuf
import XYContracts
import XYCore

/// Publishes `xy.session.v1.SessionEvent` on `xy.session.connected` / `xy.session.disconnected`
/// so xy-admin can list sessions; best effort (a session is never refused because NATS is down).
public struct SessionEventPublisher: Sendable {
    let nats: NATSClient?
    let instance: String

    public init(nats: NATSClient?, instance: String) {
        self.nats = nats
        self.instance = instance
    }

    func publish(_ kind: Xy_Session_V1_SessionEventKind, session: WebSocketSession, subject: String, reason: String) {
        guard let nats else { return }
        var event = Xy_Session_V1_SessionEvent()
        event.kind = kind
        event.sessionID = session.sessionID
        event.tokenSubject = subject
        event.remoteAddress = session.remoteAddress
        event.timeNs = wallClockNanoseconds()
        event.reason = reason
        event.gatewayInstance = instance
        guard let eventSubject = try? Subjects.session(kind), let bytes: [UInt8] = try? event.serializedBytes() else { return }
        let headers: NATSHeaders = [Subjects.schemaHeader: Xy_Session_V1_SessionEvent.protoMessageName]
        try? nats.publish(eventSubject, payload: ByteBuffer(bytes: bytes), headers: headers)
    }
}

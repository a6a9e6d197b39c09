import Foundation
import NATS
import SwiftProtobuf
import XYContracts

/// The gateways' `xy.session.*` events kept for SESSIONS_RETENTION in the stream `XY_SESSIONS`
/// (xy-admin creates it at start, so events published before then are not kept), read back and
/// folded into sessions for `/admin/sessions`: a connected event without its disconnected event
/// is a session connected now.
///
/// Limits, by design of a time-bounded log: a session open for longer than the retention has lost
/// its connected event and is not listed; a gateway that dies without closing its sessions leaves
/// them "connected" until their events age out (`/admin/health` shows that gateway stale).
struct SessionLog: Sendable {
    static let stream = "XY_SESSIONS"
    /// The most sessions one answer lists.
    static let limitRange = 1...10_000
    static let defaultLimit = 1000

    let jetStream: JetStream

    /// Creates (or updates) the stream.
    static func open(jetStream: JetStream, configuration: AdminConfiguration) async throws -> SessionLog {
        var settings = StreamConfiguration(name: stream, subjects: [Subjects.allSessions])
        settings.description = "xy-gateway session events (xy.session.v1.SessionEvent), read by xy-admin"
        settings.maxAge = .nanoseconds(configuration.sessionsRetention.nanosecondCount)
        settings.replicas = configuration.streamReplicas
        _ = try await jetStream.createOrUpdateStream(settings)
        return SessionLog(jetStream: jetStream)
    }

    /// Every kept event, oldest first; one that does not decode is skipped.
    func events() async throws -> [Xy_Session_V1_SessionEvent] {
        try await StreamReading.payloads(jetStream, stream: Self.stream).compactMap {
            try? Xy_Session_V1_SessionEvent(serializedBytes: Array(buffer: $0))
        }
    }

    /// One session as the events tell it.
    struct Session: Equatable, Sendable {
        var id: String
        var user: String
        var gateway: String
        var remoteAddress: String
        var connectedNanoseconds: Int64
        var disconnectedNanoseconds: Int64?
        var reason: String?
    }

    /// Folds events (oldest first) into sessions, newest connection first, at most `limit`, and
    /// counts those connected now among all of them. A disconnected event whose connected event
    /// is gone (aged out) names no start and is left out; a repeated event changes nothing.
    static func fold(_ events: [Xy_Session_V1_SessionEvent], limit: Int) -> (sessions: [Session], connected: Int) {
        var byID: [String: Session] = [:]
        for event in events where !event.sessionID.isEmpty {
            switch event.kind {
            case .connected:
                guard byID[event.sessionID] == nil else { continue }
                byID[event.sessionID] = Session(
                    id: event.sessionID, user: event.tokenSubject, gateway: event.gatewayInstance, remoteAddress: event.remoteAddress,
                    connectedNanoseconds: event.timeNs, disconnectedNanoseconds: nil, reason: nil)
            case .disconnected:
                guard var session = byID[event.sessionID], session.disconnectedNanoseconds == nil else { continue }
                session.disconnectedNanoseconds = event.timeNs
                session.reason = event.reason.isEmpty ? nil : event.reason
                byID[event.sessionID] = session
            case .unspecified, .UNRECOGNIZED:
                continue
            }
        }
        let connected = byID.values.count { $0.disconnectedNanoseconds == nil }
        let newestFirst = byID.values.sorted { ($0.connectedNanoseconds, $0.id) > ($1.connectedNanoseconds, $1.id) }
        return (Array(newestFirst.prefix(limit)), connected)
    }
}

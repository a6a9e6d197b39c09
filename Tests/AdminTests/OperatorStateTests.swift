import Foundation
import NATS
import NATSTestSupport
import NIOConcurrencyHelpers
import SwiftProtobuf
import Testing
import XYContracts
import XYCore

@testable import Admin

/// The pieces behind `/admin/…` on their own: folding session events, the heartbeat table on a
/// clock the test moves, and the admin role following ADMIN_USERNAMES across logins.
@Suite("xy-admin: operators' state")
struct OperatorStateTests {
    static func event(_ kind: Xy_Session_V1_SessionEventKind, _ id: String, at seconds: Int64, user: String = "u", reason: String = "") -> Xy_Session_V1_SessionEvent {
        var event = Xy_Session_V1_SessionEvent()
        event.kind = kind
        event.sessionID = id
        event.tokenSubject = user
        event.gatewayInstance = "gw"
        event.remoteAddress = "127.0.0.1"
        event.timeNs = seconds * 1_000_000_000
        event.reason = reason
        return event
    }

    @Test("sessions: paired by id, newest first, repeats and orphans ignored, limit applied after counting")
    func foldSessions() {
        let events = [
            Self.event(.connected, "a", at: 1, user: "ann"),
            Self.event(.connected, "b", at: 2, user: "ben"),
            Self.event(.disconnected, "a", at: 3, reason: "client closed"),
            Self.event(.disconnected, "a", at: 4, reason: "again"),
            Self.event(.disconnected, "gone", at: 5),
            Self.event(.connected, "b", at: 6, user: "someone else"),
            Self.event(.unspecified, "c", at: 7),
            Self.event(.connected, "", at: 8),
            Self.event(.connected, "d", at: 9, user: "dee"),
        ]
        let all = SessionLog.fold(events, limit: 10)
        #expect(all.sessions.map(\.id) == ["d", "b", "a"])
        #expect(all.connected == 2)
        let ann = all.sessions[2]
        #expect(ann.user == "ann" && ann.connectedNanoseconds == 1_000_000_000 && ann.disconnectedNanoseconds == 3_000_000_000)
        #expect(ann.reason == "client closed")
        #expect(all.sessions[1].user == "ben" && all.sessions[1].connectedNanoseconds == 2_000_000_000, "a repeated connect changes nothing")
        let one = SessionLog.fold(events, limit: 1)
        #expect(one.sessions.map(\.id) == ["d"] && one.connected == 2)
    }

    @Test("health: stale after three of the instance's intervals, forgotten after HEALTH_FORGET, bad beats ignored")
    func healthTable() throws {
        let now = NIOLockedValueBox<Int64>(1_000_000_000_000)
        let board = HealthBoard(forget: .seconds(10), clock: { now.withLockedValue { $0 } })
        func beat(_ instance: String, interval: Duration?) throws -> [UInt8] {
            var health = Xy_Exec_V1_Health()
            health.service = "xy-test"
            health.instance = instance
            health.status = .ready
            if let interval { health.intervalNs = interval.components.seconds * 1_000_000_000 }
            return try health.serializedBytes()
        }
        try board.record(beat("fast", interval: .seconds(1)))
        try board.record(beat("old", interval: nil))
        board.record([0xFF, 0x01])
        try board.record(beat("", interval: .seconds(1)))
        #expect(board.instances().map(\.health.instance) == ["fast", "old"])
        #expect(board.instances().first?.intervalNanoseconds == 1_000_000_000)
        #expect(board.instances().last?.intervalNanoseconds == HealthBoard.defaultInterval, "no interval_ns: the default")

        now.withLockedValue { $0 += 3_000_000_000 }
        #expect(board.instances().allSatisfy { !$0.isStale(now: board.now) }, "three intervals exactly: not yet")
        now.withLockedValue { $0 += 1 }
        let entries = board.instances()
        #expect(entries.first { $0.health.instance == "fast" }?.isStale(now: board.now) == true)
        #expect(entries.first { $0.health.instance == "old" }?.isStale(now: board.now) == false)

        try board.record(beat("fast", interval: .seconds(1)))
        #expect(board.instances().first { $0.health.instance == "fast" }?.isStale(now: board.now) == false, "a new beat: fresh again")
        now.withLockedValue { $0 += 8_000_000_000 }
        #expect(board.instances().map(\.health.instance) == ["fast"], "old: silent for more than HEALTH_FORGET")
    }

    @Test("the admin role follows ADMIN_USERNAMES: granted at registration, dropped at the next login once unlisted")
    func roleFollowsTheList() async throws {
        let nats = try await NATSServer.start(.init(jetStream: true))
        let client = try await NATSClient.connect(url: nats.url)
        do {
            let hasher = try PasswordHasher(operations: PasswordHasher.minimumOperations, memoryBytes: PasswordHasher.minimumMemoryBytes)
            func accounts(_ admins: String) async throws -> Accounts {
                let configuration = try AdminConfiguration(environment: EnvironmentReader(["ADMIN_USERNAMES": admins]))
                let store = try await AdminStore.open(jetStream: client.jetStream(), configuration: configuration)
                let issuer = TokenIssuer(bucket: store.keys, configuration: configuration)
                try await issuer.refresh()
                return Accounts(store: store, issuer: issuer, hasher: hasher, configuration: configuration, now: { Date() })
            }
            let listed = try await accounts("root")
            #expect(try await listed.register(username: "root", password: "correct horse battery").role == "admin")
            #expect(try await listed.register(username: "user", password: "correct horse battery").role == "user")

            let unlisted = try await accounts("")
            #expect(try await unlisted.login(username: "root", password: "correct horse battery", address: "1").role == "user")
            #expect(try await AdminStore.read(StoredUser.self, unlisted.store.users, "root")?.0.role == "user", "stored, so me shows it")

            let relisted = try await accounts("root,user")
            #expect(try await relisted.login(username: "user", password: "correct horse battery", address: "1").role == "admin")
        } catch {
            await client.close()
            await nats.stop()
            throw error
        }
        await client.close()
        await nats.stop()
    }
}

import Admin
import Foundation
import GatewayClient
import Logging
import NATS
import NATSTestSupport
import SwiftProtobuf
import Testing
import XYContracts
import XYService

/// The operators' API (`/admin/…`) over HTTP against the real nats-server: the admin role
/// (ADMIN_USERNAMES, ADMIN_TOKEN_FILE), feature flags with validation and their audit records,
/// sessions from the real `xy-gateway` executable, and health from real heartbeats.
@Suite("xy-admin: the operators' API")
struct AdminOperatorTests {
    static let adminPaths: [(String, String, String?)] = [
        ("GET", "/admin/feature-flags", nil), ("GET", "/admin/feature-flags/dark_mode", nil),
        ("PUT", "/admin/feature-flags/dark_mode", #"{"bool_value":true}"#), ("DELETE", "/admin/feature-flags/dark_mode", nil),
        ("GET", "/admin/feature-flags/dark_mode/history", nil), ("GET", "/admin/sessions", nil), ("GET", "/admin/health", nil),
    ]

    @Test("every /admin/ operation: 401 XYW001 without a token, 401 XYW005 with a bad one, 403 XYA007 for a user; ADMIN_USERNAMES makes an admin")
    func adminRole() async throws {
        let harness = try await AdminHarness.start(["ADMIN_USERNAMES": "root, ops"])
        do {
            let user = try await harness.account("bob").access
            let (admin, refresh) = try await harness.account("root")
            #expect(try await harness.request("GET", "/api/v1/auth/me", token: admin).json["role"] as? String == "admin")
            #expect(try await harness.request("GET", "/api/v1/auth/me", token: user).json["role"] as? String == "user")
            let renewed = try await harness.request("POST", "/api/v1/auth/refresh", json: #"{"refresh_token":"\#(refresh)"}"#)
            let renewedToken = try #require(renewed.json["access_token"] as? String)
            #expect(Self.claims(renewedToken)["role"] as? String == "admin", "a renewed token keeps the role")
            for (method, path, body) in Self.adminPaths {
                let none = try await harness.request(method, path, json: body)
                #expect(none.status == 401 && none.code == "XYW001", "\(method) \(path): \(none.status) \(none.body)")
                let bad = try await harness.request(method, path, json: body, token: "not.a.jwt")
                #expect(bad.status == 401 && bad.code == "XYW005", "\(method) \(path): \(bad.status) \(bad.body)")
                let forbidden = try await harness.request(method, path, json: body, token: user)
                #expect(forbidden.status == 403 && forbidden.code == "XYA007", "\(method) \(path): \(forbidden.status) \(forbidden.body)")
            }
            #expect(try await harness.request("GET", "/admin/health", token: admin).status == 200)
            #expect(try await harness.request("GET", "/admin/health", token: renewedToken).status == 200)
            let wrongMethod = try await harness.request("POST", "/admin/health", token: admin)
            #expect(wrongMethod.status == 405 && wrongMethod.header("Allow") == "GET")
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }

    @Test("a bad operators' variable: exit status 2, XYW010 naming it")
    func operatorVariablesChecked() async throws {
        let cases = [
            ("ADMIN_USERNAMES", "root,Not A Name"), ("ADMIN_TOKEN_FILE", "/nonexistent-\(UUID().uuidString)/admin.token"),
            ("ADMIN_TOKEN_TTL", "30s"), ("SESSIONS_RETENTION", "soon"), ("FLAG_HISTORY_MAX", "0"), ("HEALTH_FORGET", "-1s"),
        ]
        for (name, value) in cases {
            let process = try ManagedProcess("xy-admin", environment: ["NATS_URLS": "nats://127.0.0.1:1", name: value])
            #expect(try await process.waitForExit() == 2, "\(name)")
            #expect(process.log.contains("XYW010") && process.log.contains(name), "\(name): \(process.log)")
        }
    }

    @Test("feature flags: create, change, refusals XYA041–XYA045, delete; the bucket holds the contract; every change in the history")
    func featureFlags() async throws {
        let harness = try await AdminHarness.start(["ADMIN_USERNAMES": "root"])
        do {
            let admin = try await harness.account("root").access
            let created = try await harness.request("PUT", "/admin/feature-flags/dark_mode", json: #"{"bool_value":true}"#, token: admin)
            #expect(created.status == 200, "\(created.body)")
            #expect(created.json["name"] as? String == "dark_mode" && created.json["type"] as? String == "bool")
            #expect(created.json["bool_value"] as? Bool == true && created.json["updated_by"] as? String == "root")
            #expect(created.json["updated_at"] as? String != nil)

            // Every service reads the bucket: the value is the xy.flags.v1.FeatureFlag contract.
            let bucket = try await harness.client.jetStream().keyValue(Subjects.featureFlagBucket)
            let stored = try #require(try await bucket.get("dark_mode"))
            let flag = try Xy_Flags_V1_FeatureFlag(serializedBytes: Array(buffer: stored.value))
            #expect(flag.name == "dark_mode" && flag.value == .boolValue(true) && flag.updatedBy == "root" && flag.updatedAtNs > 0)

            let changed = try await harness.request("PUT", "/admin/feature-flags/dark_mode", json: #"{"bool_value":false}"#, token: admin)
            #expect(changed.status == 200 && changed.json["bool_value"] as? Bool == false)
            let same = try await harness.request("PUT", "/admin/feature-flags/dark_mode", json: #"{"bool_value":false}"#, token: admin)
            #expect(same.status == 200, "setting the same value again is no change")
            #expect(try await harness.request("PUT", "/admin/feature-flags/max_rows", json: #"{"int_value":250}"#, token: admin).json["int_value"] as? Int == 250)
            #expect(try await harness.request("PUT", "/admin/feature-flags/Ratio-2", json: #"{"double_value":0.25}"#, token: admin).json["type"] as? String == "double")
            #expect(try await harness.request("PUT", "/admin/feature-flags/banner", json: #"{"string_value":"maintenance at 6"}"#, token: admin).json["string_value"] as? String == "maintenance at 6")

            let refusals: [(String, String, String?, Int, String)] = [
                ("PUT", "/admin/feature-flags/a.b", #"{"bool_value":true}"#, 400, "XYA041"),
                ("PUT", "/admin/feature-flags/\(String(repeating: "x", count: 65))", #"{"bool_value":true}"#, 400, "XYA041"),
                ("GET", "/admin/feature-flags/bad%20name", nil, 400, "XYA041"),
                ("GET", "/admin/feature-flags/a.b/history", nil, 400, "XYA041"),
                ("DELETE", "/admin/feature-flags/a*b", nil, 400, "XYA041"),
                ("PUT", "/admin/feature-flags/dark_mode", "{}", 400, "XYA042"),
                ("PUT", "/admin/feature-flags/dark_mode", #"{"bool_value":true,"int_value":1}"#, 400, "XYA042"),
                ("PUT", "/admin/feature-flags/banner", #"{"string_value":"\#(String(repeating: "y", count: 1025))"}"#, 400, "XYA043"),
                ("PUT", "/admin/feature-flags/dark_mode", #"{"int_value":1}"#, 409, "XYA044"),
                ("PUT", "/admin/feature-flags/max_rows", #"{"string_value":"250"}"#, 409, "XYA044"),
                ("GET", "/admin/feature-flags/unknown", nil, 404, "XYA045"),
                ("DELETE", "/admin/feature-flags/unknown", nil, 404, "XYA045"),
                ("PUT", "/admin/feature-flags/dark_mode", #"{"bool_value":"yes"}"#, 400, "XYW007"),
                ("PUT", "/admin/feature-flags/dark_mode", "{", 400, "XYW007"),
                ("PUT", "/admin/feature-flags/max_rows", #"{"int_value":1e40}"#, 400, "XYW007"),
            ]
            for (method, path, body, status, code) in refusals {
                let answer = try await harness.request(method, path, json: body, token: admin)
                #expect(answer.status == status && answer.code == code, "\(method) \(path.prefix(60)) \(body?.prefix(40) ?? ""): \(answer.status) \(answer.body)")
            }
            #expect(try await harness.request("GET", "/admin/feature-flags/dark_mode", token: admin).json["bool_value"] as? Bool == false,
                    "a refused change leaves the flag as it was")

            let listed = try await harness.request("GET", "/admin/feature-flags", token: admin)
            let names = (listed.json["flags"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
            #expect(names == ["Ratio-2", "banner", "dark_mode", "max_rows"])

            let deleted = try await harness.request("DELETE", "/admin/feature-flags/dark_mode", token: admin)
            #expect(deleted.status == 204)
            #expect(try await harness.request("GET", "/admin/feature-flags/dark_mode", token: admin).code == "XYA045")
            #expect(try await bucket.get("dark_mode") == nil, "watchers see the delete")

            // The history outlives the flag: newest first, who, when, old and new.
            let history = try await harness.request("GET", "/admin/feature-flags/dark_mode/history", token: admin)
            #expect(history.status == 200 && history.json["name"] as? String == "dark_mode")
            let changes = history.json["changes"] as? [[String: Any]] ?? []
            #expect(changes.compactMap { $0["action"] as? String } == ["deleted", "changed", "created"], "\(history.body)")
            #expect(changes.allSatisfy { $0["by"] as? String == "root" && $0["at"] as? String != nil })
            #expect((changes.first?["old"] as? [String: Any])?["bool_value"] as? Bool == false && changes.first?["new"] == nil)
            #expect((changes[safe: 1]?["old"] as? [String: Any])?["bool_value"] as? Bool == true)
            #expect((changes[safe: 1]?["new"] as? [String: Any])?["bool_value"] as? Bool == false)
            #expect(changes.last?["old"] == nil && (changes.last?["new"] as? [String: Any])?["bool_value"] as? Bool == true)
            let never = try await harness.request("GET", "/admin/feature-flags/never_set/history", token: admin)
            #expect(never.status == 200 && (never.json["changes"] as? [Any])?.isEmpty == true)

            // The audit records are the contract too, on xy.audit.flags.<flag>.
            let record = try await harness.client.jetStream().getLastMessage(stream: "XY_FLAG_AUDIT", subject: "xy.audit.flags.dark_mode")
            let change = try Xy_Flags_V1_FeatureFlagChange(serializedBytes: Array(buffer: record.payload))
            #expect(change.hasOld && !change.hasNew && change.changedBy == "root" && change.old.value == .boolValue(false))
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }

    @Test("a deleted flag may come back with another type; an audit record that cannot be stored is 503 XYW004, never silent")
    func retypeAndAuditFailure() async throws {
        let harness = try await AdminHarness.start(["ADMIN_USERNAMES": "root"])
        do {
            let admin = try await harness.account("root").access
            #expect(try await harness.request("PUT", "/admin/feature-flags/mode", json: #"{"bool_value":true}"#, token: admin).status == 200)
            #expect(try await harness.request("DELETE", "/admin/feature-flags/mode", token: admin).status == 204)
            let retyped = try await harness.request("PUT", "/admin/feature-flags/mode", json: #"{"string_value":"fast"}"#, token: admin)
            #expect(retyped.status == 200 && retyped.json["type"] as? String == "string")
            let history = try await harness.request("GET", "/admin/feature-flags/mode/history", token: admin)
            #expect((history.json["changes"] as? [[String: Any]] ?? []).compactMap { $0["action"] as? String } == ["created", "deleted", "created"])

            // Someone deletes the audit stream under the running service.
            try await harness.client.jetStream().deleteStream("XY_FLAG_AUDIT")
            let unrecorded = try await harness.request("PUT", "/admin/feature-flags/mode", json: #"{"string_value":"slow"}"#, token: admin)
            #expect(unrecorded.status == 503 && unrecorded.code == "XYW004", "\(unrecorded.status) \(unrecorded.body)")
            #expect((unrecorded.json["message"] as? String)?.contains("audit") == true)
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }

    @Test("ADMIN_TOKEN_FILE: an admin token, mode 0600, accepted by the admin API; rewritten after a key rotation")
    func adminTokenFile() async throws {
        let folder = NSTemporaryDirectory() + "xy-admin-token-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/admin.token"
        let harness = try await AdminHarness.start(["ADMIN_TOKEN_FILE": path, "ADMIN_TOKEN_TTL": "1m"])
        do {
            try await waitUntil("the token file", timeout: .seconds(10)) { FileManager.default.fileExists(atPath: path) }
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            let token = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let claims = Self.claims(token)
            #expect(claims["sub"] as? String == "operator@xy-admin" && claims["role"] as? String == "admin")
            let exp = try #require(claims["exp"] as? Double), iat = try #require(claims["iat"] as? Double)
            #expect(exp - iat == 60)
            #expect(try await harness.request("GET", "/admin/health", token: token).status == 200)
            let put = try await harness.request("PUT", "/admin/feature-flags/from_file", json: #"{"int_value":7}"#, token: token)
            #expect(put.json["updated_by"] as? String == "operator@xy-admin", "the audit names the operator principal")
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["admin.token"], "no temporary file left behind")

            try await harness.handle.rotateSigningKey()
            let newKid = try #require(await harness.handle.currentKeyID())
            try await waitUntil("the token signed by the new key", timeout: .seconds(40), every: .milliseconds(200)) {
                let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
                return Self.header(text.trimmingCharacters(in: .whitespacesAndNewlines))["kid"] as? String == newKid
            }
            let renewed = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(try await harness.request("GET", "/admin/sessions", token: renewed).status == 200)
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }

    @Test("sessions: the real gateway's WebSocket session is listed connected, then disconnected; limit checked; the gateway's heartbeat in /admin/health")
    func sessionsFromGateway() async throws {
        let harness = try await AdminHarness.start(["ADMIN_USERNAMES": "root"])
        let gateway = try ManagedProcess("xy-gateway", environment: [
            "NATS_URLS": harness.nats.url, "HTTP_HOST": "127.0.0.1", "HTTP_PORT": "0",
            "JWT_JWKS_URL": "http://127.0.0.1:\(harness.port)/.well-known/jwks.json",
            "WS_ALLOWED_ORIGINS": "http://app.test", "WS_STATIC_DIR": "",
            "SERVICE_INSTANCE": "gw-test-1", "HEALTH_INTERVAL": "2s",
        ])
        do {
            let port = try await gateway.waitForHTTPPort(loggedWith: "gateway listening")
            let admin = try await harness.account("root").access
            let user = try await harness.account("lena").access
            let connection = try await WebSocketConnection.connect(
                host: "127.0.0.1", port: port, path: "/ws", headers: [("Authorization", "Bearer \(user)")])
            #expect(connection.response.status == 101)

            var listed = HTTPAnswer(status: 0, headers: [], body: "")
            try await waitUntil("lena's session listed", timeout: .seconds(10), every: .milliseconds(100), context: { listed.body }) {
                listed = try await harness.request("GET", "/admin/sessions", token: admin)
                return (listed.json["sessions"] as? [[String: Any]] ?? []).contains { $0["user"] as? String == "lena" }
            }
            let session = try #require((listed.json["sessions"] as? [[String: Any]])?.first)
            #expect(session["gateway"] as? String == "gw-test-1" && session["connected_at"] as? String != nil)
            #expect(session["disconnected_at"] == nil && (session["session_id"] as? String)?.isEmpty == false)
            #expect(listed.json["connected"] as? Int == 1)

            await connection.close()
            try await waitUntil("lena's session ended", timeout: .seconds(10), every: .milliseconds(100), context: { listed.body }) {
                listed = try await harness.request("GET", "/admin/sessions", token: admin)
                return (listed.json["sessions"] as? [[String: Any]])?.first?["disconnected_at"] as? String != nil
            }
            #expect(listed.json["connected"] as? Int == 0)
            #expect((listed.json["sessions"] as? [[String: Any]])?.first?["session_id"] as? String == session["session_id"] as? String)

            #expect(try await harness.request("GET", "/admin/sessions?limit=0", token: admin).code == "XYA046")
            #expect(try await harness.request("GET", "/admin/sessions?limit=10001", token: admin).code == "XYA046")
            #expect(try await harness.request("GET", "/admin/sessions?limit=many", token: admin).code == "XYW007")
            #expect((try await harness.request("GET", "/admin/sessions?limit=1", token: admin).json["sessions"] as? [Any])?.count == 1)

            var health = HTTPAnswer(status: 0, headers: [], body: "")
            try await waitUntil("the gateway's heartbeat", timeout: .seconds(10), every: .milliseconds(100), context: { health.body }) {
                health = try await harness.request("GET", "/admin/health", token: admin)
                return (health.json["instances"] as? [[String: Any]] ?? []).contains { $0["instance"] as? String == "gw-test-1" }
            }
            let instance = try #require((health.json["instances"] as? [[String: Any]])?.first { $0["instance"] as? String == "gw-test-1" })
            #expect(instance["service"] as? String == "xy-gateway" && instance["interval_ms"] as? Int == 2000)
            #expect(instance["stale"] as? Bool == false && instance["status"] as? String != nil)
        } catch {
            await gateway.terminate()
            await harness.stop()
            throw error
        }
        await gateway.terminate()
        await harness.stop()
    }

    @Test("health: every instance's latest heartbeat with its own interval; stale after three missed intervals; a bad heartbeat is ignored")
    func healthFromHeartbeats() async throws {
        let harness = try await AdminHarness.start(["ADMIN_USERNAMES": "root"])
        var clients: [NATSClient] = []
        var beats: [Task<Void, any Error>] = []
        do {
            let admin = try await harness.account("root").access
            // rt-1 beats every 200 ms and will go silent; agg-1 every 5 s, so that it cannot look
            // stale (15 s of silence) while the test runs, however loaded the machine is.
            for (service, instance, interval) in [("xy-realtime", "rt-1", 200), ("xy-aggregator", "agg-1", 5000)] {
                let client = try await NATSClient.connect(url: harness.nats.url)
                clients.append(client)
                let heartbeat = HealthHeartbeat(
                    client: client, serviceName: service, instance: instance, version: "9.9.9", interval: .milliseconds(interval),
                    readiness: ReadinessState(), logger: Logger(label: "test.heartbeat"))
                beats.append(Task { try await heartbeat.run() })
            }
            // Not a Health message: dropped, the table and the service stay as they were.
            try harness.client.publish(Subjects.health, bytes: [0xFF, 0xFF, 0xFF])

            var health = HTTPAnswer(status: 0, headers: [], body: "")
            try await waitUntil("both instances, fresh", timeout: .seconds(10), every: .milliseconds(50), context: { health.body }) {
                health = try await harness.request("GET", "/admin/health", token: admin)
                let listed = health.json["instances"] as? [[String: Any]] ?? []
                return listed.count == 2 && listed.allSatisfy { $0["stale"] as? Bool == false }
            }
            let instances = health.json["instances"] as? [[String: Any]] ?? []
            #expect(instances.compactMap { $0["service"] as? String } == ["xy-aggregator", "xy-realtime"])
            #expect(instances.compactMap { $0["interval_ms"] as? Int } == [5000, 200])
            #expect(instances.allSatisfy { $0["version"] as? String == "9.9.9" })
            #expect(instances.allSatisfy { $0["ready"] as? Bool == true && $0["status"] as? String == "ready" && $0["last_seen"] as? String != nil })
            #expect(health.json["observed_since"] as? String != nil)

            // xy-realtime "crashes": its connection goes away without a last heartbeat.
            await clients[0].close()
            try await waitUntil("rt-1 stale", timeout: .seconds(10), every: .milliseconds(50), context: { health.body }) {
                health = try await harness.request("GET", "/admin/health", token: admin)
                let listed = health.json["instances"] as? [[String: Any]] ?? []
                return listed.first { $0["instance"] as? String == "rt-1" }?["stale"] as? Bool == true
            }
            let after = health.json["instances"] as? [[String: Any]] ?? []
            #expect(after.first { $0["instance"] as? String == "agg-1" }?["stale"] as? Bool == false, "the live one stays fresh")
        } catch {
            for beat in beats { beat.cancel() }
            for client in clients { await client.close() }
            await harness.stop()
            throw error
        }
        for beat in beats { beat.cancel() }
        for client in clients { await client.close() }
        await harness.stop()
    }

    /// A JWT's payload as JSON.
    static func claims(_ token: String) -> [String: Any] {
        part(token, 1)
    }

    /// A JWT's header as JSON.
    static func header(_ token: String) -> [String: Any] {
        part(token, 0)
    }

    private static func part(_ token: String, _ index: Int) -> [String: Any] {
        let parts = token.split(separator: ".").map(String.init)
        guard parts.count == 3 else { return [:] }
        return (try? JSONSerialization.jsonObject(with: AdminAPITests.base64URLDecode(parts[index]))) as? [String: Any] ?? [:]
    }
}

extension Array {
    /// The element at `index`, nil past the end.
    subscript(safe index: Int) -> Element? {
        indices.contains(index) ? self[index] : nil
    }
}

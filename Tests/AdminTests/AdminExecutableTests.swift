import Foundation
import NATSTestSupport
import Testing

/// The `xy-admin` executable itself: `--help` lists what it reads, and a bad variable stops it
/// with status 2 and XYW010 naming the variable, before it touches NATS.
@Suite("xy-admin: the executable's configuration")
struct AdminExecutableTests {
    @Test("--help lists the runtime's and the API's variables")
    func help() async throws {
        let process = try ManagedProcess("xy-admin", arguments: ["--help"])
        #expect(try await process.waitForExit() == 0)
        for name in ["NATS_URLS", "HTTP_PORT", "API_PORT", "XY_STREAM_REPLICAS", "ACCESS_TOKEN_TTL", "SIGNING_KEY_ROTATION",
                     "LOGIN_MAX_FAILURES_PER_USER", "LOGIN_MAX_FAILURES_PER_ADDRESS", "WATCHLIST_MAX", "WATCHLIST_DEFAULT",
                     "ADMIN_USERNAMES", "ADMIN_TOKEN_FILE", "ADMIN_TOKEN_TTL", "SESSIONS_RETENTION", "FLAG_HISTORY_MAX", "HEALTH_FORGET", "AGG_GROUPS"] {
            #expect(process.log.contains(name), "\(name)")
        }
    }

    @Test("a bad variable: exit status 2, XYW010 and the variable's name")
    func badConfiguration() async throws {
        for (name, value) in [("WATCHLIST_DEFAULT", "AAPL,not a ticker"), ("XY_STREAM_REPLICAS", "9"), ("SIGNING_KEY_ROTATION", "1m"), ("AGG_GROUPS", "demo=not a ticker")] {
            let process = try ManagedProcess("xy-admin", environment: ["NATS_URLS": "nats://127.0.0.1:1", name: value])
            #expect(try await process.waitForExit() == 2, "\(name)")
            #expect(process.log.contains("XYW010") && process.log.contains(name), "\(name): \(process.log)")
        }
    }
}

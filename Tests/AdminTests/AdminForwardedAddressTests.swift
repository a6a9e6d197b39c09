import Admin
import Testing
import XYCore

/// Behind the edge every request's peer is nginx: the login rate limit per client address must
/// count the browser's address from the proxy's headers, and only when the peer is a trusted proxy
/// (TRUSTED_PROXIES), or anyone could pick the address their failures are counted against.
@Suite("xy-admin: the client address behind a trusted proxy")
struct AdminForwardedAddressTests {
    static let limits = ["LOGIN_MAX_FAILURES_PER_USER": "100", "LOGIN_MAX_FAILURES_PER_ADDRESS": "2", "LOGIN_LOCKOUT": "60s"]

    /// A failed login for `username` sent with `headers`: its status and code.
    static func failedLogin(_ harness: AdminHarness, _ username: String, _ headers: [(String, String)]) async throws -> (Int, String?) {
        let answer = try await harness.request(
            "POST", "/api/v1/auth/login", json: #"{"username":"\#(username)","password":"wrong password"}"#, headers: headers)
        return (answer.status, answer.code)
    }

    @Test("from a trusted proxy, X-Forwarded-For's client is locked out, not the proxy; other clients still log in")
    func trustedProxy() async throws {
        var environment = Self.limits
        environment["TRUSTED_PROXIES"] = "127.0.0.1/32"
        let harness = try await AdminHarness.start(environment)
        do {
            let browser = [("X-Forwarded-For", "203.0.113.7")]
            #expect(try await Self.failedLogin(harness, "ivan", browser) == (401, "XYA004"))
            #expect(try await Self.failedLogin(harness, "judy", browser) == (401, "XYA004"))
            #expect(try await Self.failedLogin(harness, "ken", browser) == (429, "XYA005"), "the browser's address is locked")
            // The same proxy, another browser: counted on its own address.
            #expect(try await Self.failedLogin(harness, "ken", [("X-Forwarded-For", "198.51.100.4")]) == (401, "XYA004"))
            // X-Real-IP when there is no X-Forwarded-For; a client-written entry left of the proxy's proves nothing.
            #expect(try await Self.failedLogin(harness, "ken", [("X-Real-IP", "203.0.113.7")]) == (429, "XYA005"))
            #expect(try await Self.failedLogin(harness, "ken", [("X-Forwarded-For", "198.51.100.9, 203.0.113.7")]) == (429, "XYA005"))
            let (access, _) = try await harness.account("leo")
            #expect(!access.isEmpty, "the proxy's own address is not locked")
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }

    @Test("from a peer that is not a trusted proxy, the headers are ignored: the peer is the client")
    func untrustedPeer() async throws {
        let harness = try await AdminHarness.start(Self.limits)
        do {
            #expect(try await Self.failedLogin(harness, "mia", [("X-Forwarded-For", "203.0.113.1")]) == (401, "XYA004"))
            #expect(try await Self.failedLogin(harness, "nina", [("X-Forwarded-For", "203.0.113.2")]) == (401, "XYA004"))
            #expect(try await Self.failedLogin(harness, "olga", [("X-Forwarded-For", "203.0.113.3"), ("X-Real-IP", "203.0.113.4")]) == (429, "XYA005"),
                    "a new address in the header does not escape the lockout of the peer")
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }

    @Test("TRUSTED_PROXIES takes addresses and CIDR ranges only")
    func configuration() throws {
        let accepted = try AdminConfiguration(environment: EnvironmentReader(["TRUSTED_PROXIES": "127.0.0.1/32, 10.0.0.0/8, ::1"]))
        #expect(accepted.trustedProxies == ["127.0.0.1/32", "10.0.0.0/8", "::1"])
        #expect(try AdminConfiguration(environment: EnvironmentReader([:])).trustedProxies.isEmpty)
        #expect(throws: ConfigurationError.self) { try AdminConfiguration(environment: EnvironmentReader(["TRUSTED_PROXIES": "nginx"])) }
        #expect(throws: ConfigurationError.self) { try AdminConfiguration(environment: EnvironmentReader(["TRUSTED_PROXIES": "10.0.0.0/33"])) }
    }
}

import Admin
import AdminAPI
import Foundation
import GatewayAuth
import GatewayClient
import NATSTestSupport
import Testing

/// xy-admin's REST API end to end over HTTP against the real nats-server: every served operation
/// and refusal code, users kept apart, the login rate limit, refresh rotation and revocation.
@Suite("xy-admin: accounts, tokens and watchlists")
struct AdminAPITests {
    @Test("register, login and me; every refusal with its status and code; no password hash ever returned")
    func accounts() async throws {
        let harness = try await AdminHarness.start()
        do {
            let created = try await harness.request("POST", "/api/v1/auth/register", json: #"{"username":"alice","password":"correct horse battery"}"#)
            #expect(created.status == 201)
            #expect(created.json["username"] as? String == "alice")
            #expect(created.json["role"] as? String == "user")
            #expect(!created.body.contains("argon2"), "no hash in the answer")

            let refusals: [(String, Int, String)] = [
                (#"{"username":"alice","password":"another long one"}"#, 409, "XYA003"),
                (#"{"username":"Al","password":"correct horse battery"}"#, 400, "XYA001"),
                (#"{"username":"9lives","password":"correct horse battery"}"#, 400, "XYA001"),
                (#"{"username":"bob","password":"short"}"#, 400, "XYA002"),
                (#"{"username":"bob","password":"\#(String(repeating: "x", count: 257))"}"#, 400, "XYA002"),
                (#"{"username":"bob"}"#, 400, "XYW007"),
                (#"{"username":"bob","password":"#, 400, "XYW007"),
                ("[]", 400, "XYW007"),
            ]
            for (body, status, code) in refusals {
                let answer = try await harness.request("POST", "/api/v1/auth/register", json: body)
                #expect(answer.status == status, "\(body.prefix(40))")
                #expect(answer.code == code, "\(body.prefix(40)): \(answer.body)")
                #expect((answer.json["message"] as? String)?.isEmpty == false)
            }

            let login = try await harness.request("POST", "/api/v1/auth/login", json: #"{"username":"alice","password":"correct horse battery"}"#)
            #expect(login.status == 200)
            #expect(login.json["token_type"] as? String == "Bearer")
            #expect(login.json["expires_in"] as? Int == 900)
            let access = try #require(login.json["access_token"] as? String)

            let me = try await harness.request("GET", "/api/v1/auth/me", token: access)
            #expect(me.status == 200)
            #expect(me.json["username"] as? String == "alice")
            #expect(me.json["role"] as? String == "user")
            #expect(me.json["created_at"] as? String != nil)
            #expect(!me.body.contains("password") && !me.body.contains("argon2"))

            #expect(try await harness.request("GET", "/api/v1/auth/me").code == "XYW001")
            #expect(try await harness.request("GET", "/api/v1/auth/me").status == 401)
            #expect(try await harness.request("GET", "/api/v1/auth/me", token: "not.a.jwt").code == "XYW005")
            let stranger = try await TokenSigningKey.generateES256().sign(GatewayTokenPayload(sub: "alice", expires: Date().addingTimeInterval(600)), keyID: "other")
            let foreign = try await harness.request("GET", "/api/v1/auth/me", token: stranger)
            #expect(foreign.status == 401 && foreign.code == "XYW005", "a token from another key")

            // Unknown user and wrong password: the same status and body.
            let wrong = try await harness.request("POST", "/api/v1/auth/login", json: #"{"username":"alice","password":"incorrect horse"}"#)
            let unknown = try await harness.request("POST", "/api/v1/auth/login", json: #"{"username":"nobody","password":"incorrect horse"}"#)
            #expect(wrong.status == 401 && wrong.code == "XYA004")
            #expect(unknown.status == wrong.status && unknown.body == wrong.body)
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }

    @Test("the access token carries the gateway's claims and the role, signed ES256 with the JWKS's kid")
    func tokenClaims() async throws {
        let harness = try await AdminHarness.start(["TOKEN_SUBJECTS": "xy.md.>", "TOKEN_MAX_SUBS": "42"])
        do {
            let (access, _) = try await harness.account("carol")
            let parts = access.split(separator: ".").map(String.init)
            #expect(parts.count == 3)
            let header = try #require(try JSONSerialization.jsonObject(with: Self.base64URLDecode(parts[0])) as? [String: Any])
            let payload = try #require(try JSONSerialization.jsonObject(with: Self.base64URLDecode(parts[1])) as? [String: Any])
            #expect(header["alg"] as? String == "ES256")
            #expect(payload["sub"] as? String == "carol")
            #expect(payload["subjects"] as? [String] == ["xy.md.>"])
            #expect(payload["max_subs"] as? Int == 42)
            #expect(payload["role"] as? String == "user")
            let issued = try #require(payload["iat"] as? Double)
            #expect(issued == issued.rounded(.down), "iat in whole seconds")
            #expect(payload["exp"] as? Double == issued + 900, "15 minutes by default")
            let jwks = try await harness.request("GET", "/.well-known/jwks.json")
            #expect(jwks.status == 200)
            let keys = try #require(jwks.json["keys"] as? [[String: Any]])
            #expect(keys.map { $0["kid"] as? String } == [header["kid"] as? String])
            #expect(keys.first?["kty"] as? String == "EC" && keys.first?["crv"] as? String == "P-256" && keys.first?["d"] == nil)
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }

    @Test("watchlists: the default list, add, the cap, remove, bad tickers; one user never reaches another's list")
    func watchlists() async throws {
        let harness = try await AdminHarness.start(["WATCHLIST_MAX": "4", "WATCHLIST_DEFAULT": "AAPL,MSFT"])
        do {
            let alice = try await harness.account("alice").access
            let bob = try await harness.account("bob").access

            let initial = try await harness.request("GET", "/api/v1/watchlist", token: alice)
            #expect(initial.status == 200)
            #expect(initial.json["tickers"] as? [String] == ["AAPL", "MSFT"])
            #expect(initial.json["max"] as? Int == 4)

            let added = try await harness.request("POST", "/api/v1/watchlist", json: #"{"ticker":"NVDA"}"#, token: alice)
            #expect(added.status == 200)
            #expect(added.json["tickers"] as? [String] == ["AAPL", "MSFT", "NVDA"])
            let again = try await harness.request("POST", "/api/v1/watchlist", json: #"{"ticker":"NVDA"}"#, token: alice)
            #expect(again.json["tickers"] as? [String] == ["AAPL", "MSFT", "NVDA"], "adding a listed ticker changes nothing")
            #expect(try await harness.request("POST", "/api/v1/watchlist", json: #"{"ticker":"TSLA"}"#, token: alice).status == 200)
            let full = try await harness.request("POST", "/api/v1/watchlist", json: #"{"ticker":"AMZN"}"#, token: alice)
            #expect(full.status == 409 && full.code == "XYA009")

            for bad in ["aapl", "xy.md.>", "", "TOOLONGTICKERNAME1", "A B"] {
                let answer = try await harness.request("POST", "/api/v1/watchlist", json: #"{"ticker":"\#(bad)"}"#, token: alice)
                #expect(answer.status == 400 && answer.code == "XYA008", "\(bad)")
            }
            #expect(try await harness.request("POST", "/api/v1/watchlist", json: #"{"symbol":"AAPL"}"#, token: alice).code == "XYW007")
            #expect(try await harness.request("DELETE", "/api/v1/watchlist/a.b", token: alice).code == "XYA008")

            // Bob's list is his own: alice's changes do not show, and he cannot remove her tickers.
            let bobs = try await harness.request("GET", "/api/v1/watchlist", token: bob)
            #expect(bobs.json["tickers"] as? [String] == ["AAPL", "MSFT"])
            let notHis = try await harness.request("DELETE", "/api/v1/watchlist/NVDA", token: bob)
            #expect(notHis.status == 404 && notHis.code == "XYA010")
            #expect(try await harness.request("GET", "/api/v1/watchlist", token: alice).json["tickers"] as? [String] == ["AAPL", "MSFT", "NVDA", "TSLA"])

            let removed = try await harness.request("DELETE", "/api/v1/watchlist/MSFT", token: alice)
            #expect(removed.status == 200)
            #expect(removed.json["tickers"] as? [String] == ["AAPL", "NVDA", "TSLA"])
            #expect(try await harness.request("GET", "/api/v1/watchlist", token: bob).json["tickers"] as? [String] == ["AAPL", "MSFT"])

            #expect(try await harness.request("GET", "/api/v1/watchlist").code == "XYW001")
            #expect(try await harness.request("DELETE", "/api/v1/watchlist/AAPL").status == 401)
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }

    @Test("login rate limit: per username, then per client address; 429 XYA005 with Retry-After, even for the right password")
    func rateLimit() async throws {
        let harness = try await AdminHarness.start(["LOGIN_MAX_FAILURES_PER_USER": "3", "LOGIN_MAX_FAILURES_PER_ADDRESS": "6", "LOGIN_LOCKOUT": "60s"])
        do {
            _ = try await harness.account("dave")
            for attempt in 1...3 {
                let answer = try await harness.request("POST", "/api/v1/auth/login", json: #"{"username":"dave","password":"wrong password"}"#)
                #expect(answer.status == 401 && answer.code == "XYA004", "attempt \(attempt)")
            }
            let locked = try await harness.request("POST", "/api/v1/auth/login", json: #"{"username":"dave","password":"correct horse battery"}"#)
            #expect(locked.status == 429 && locked.code == "XYA005")
            let retryAfter = Int(locked.header("Retry-After") ?? "") ?? 0
            #expect((1...60).contains(retryAfter), "Retry-After \(retryAfter)")

            // Three more failures from this address, each for another name: the address is locked.
            for name in ["erin", "frank", "grace"] {
                #expect(try await harness.request("POST", "/api/v1/auth/login", json: #"{"username":"\#(name)","password":"wrong password"}"#).code == "XYA004")
            }
            let address = try await harness.request("POST", "/api/v1/auth/login", json: #"{"username":"heidi","password":"wrong password"}"#)
            #expect(address.status == 429 && address.code == "XYA005")
            #expect(address.header("Retry-After") != nil)
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }

    @Test("refresh: rotated on use; a spent token is refused and revokes its family; logout revokes")
    func refreshRotation() async throws {
        let harness = try await AdminHarness.start()
        do {
            let (_, first) = try await harness.account("ivan")
            let renewed = try await harness.request("POST", "/api/v1/auth/refresh", json: #"{"refresh_token":"\#(first)"}"#)
            #expect(renewed.status == 200)
            let second = try #require(renewed.json["refresh_token"] as? String)
            let access = try #require(renewed.json["access_token"] as? String)
            #expect(second != first)
            #expect(try await harness.request("GET", "/api/v1/auth/me", token: access).json["username"] as? String == "ivan")

            let replay = try await harness.request("POST", "/api/v1/auth/refresh", json: #"{"refresh_token":"\#(first)"}"#)
            #expect(replay.status == 401 && replay.code == "XYA006", "a spent token")
            let afterReplay = try await harness.request("POST", "/api/v1/auth/refresh", json: #"{"refresh_token":"\#(second)"}"#)
            #expect(afterReplay.status == 401 && afterReplay.code == "XYA006", "the replay revoked the family")

            let (_, other) = try await harness.account("judy")
            #expect(try await harness.request("POST", "/api/v1/auth/logout", json: #"{"refresh_token":"\#(other)"}"#).status == 204)
            #expect(try await harness.request("POST", "/api/v1/auth/refresh", json: #"{"refresh_token":"\#(other)"}"#).code == "XYA006", "logged out")

            for bad in ["", "nonsense", String(repeating: "a", count: 32) + "." + String(repeating: "A", count: 43)] {
                let answer = try await harness.request("POST", "/api/v1/auth/refresh", json: #"{"refresh_token":"\#(bad)"}"#)
                #expect(answer.status == 401 && answer.code == "XYA006", "\(bad.prefix(10))")
            }
            #expect(try await harness.request("POST", "/api/v1/auth/refresh", json: "{}").code == "XYW007")
            let huge = try await harness.request("POST", "/api/v1/auth/logout", json: #"{"refresh_token":"\#(String(repeating: "a", count: 513))"}"#)
            #expect(huge.status == 400 && huge.code == "XYW007", "longer than the document's maxLength")
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }

    @Test("the document is served as committed; a path outside it answers 404 XYA011")
    func documentAndUnservedRoutes() async throws {
        let harness = try await AdminHarness.start()
        do {
            let document = try await harness.request("GET", "/api/v1/openapi.yaml")
            #expect(document.status == 200)
            #expect(document.body == OpenAPIDocument.yaml)
            #expect(document.header("Content-Type")?.hasPrefix("application/yaml") == true)
            let (access, _) = try await harness.account("kim")
            for (method, path) in [("GET", "/api/v1/market-data/ticks?ticker=AAPL"), ("GET", "/admin/nothing-here")] {
                let answer = try await harness.request(method, path, token: access)
                #expect(answer.status == 404 && answer.code == "XYA011", "\(path): \(answer.status) \(answer.body)")
            }
            for (method, path) in [("PUT", "/api/v1/watchlist"), ("GET", "/api/v1/auth/login"), ("POST", "/api/v1/watchlist/AAPL")] {
                let answer = try await harness.request(method, path, token: access)
                #expect(answer.status == 405 && answer.code == "XYA011", "\(method) \(path): \(answer.status) \(answer.body)")
                #expect(answer.header("Allow") != nil, "RFC 9110: a 405 lists the methods")
            }
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }

    @Test("NATS gone: the state's operations answer 503 XYW004, the rest keeps serving, nothing crashes")
    func natsUnavailable() async throws {
        let harness = try await AdminHarness.start()
        do {
            let (access, _) = try await harness.account("mallory")
            await harness.nats.stop()
            let register = try await harness.request("POST", "/api/v1/auth/register", json: #"{"username":"oscar","password":"correct horse battery"}"#)
            #expect(register.status == 503 && register.code == "XYW004", "\(register.status) \(register.body)")
            let watchlist = try await harness.request("GET", "/api/v1/watchlist", token: access)
            #expect(watchlist.status == 503 && watchlist.code == "XYW004")
            #expect(try await harness.request("GET", "/.well-known/jwks.json").status == 200, "the keys in memory are still served")
            #expect(try await harness.request("POST", "/api/v1/auth/register", json: "{").code == "XYW007", "a bad body is still the client's fault")
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }

    static func base64URLDecode(_ text: String) -> Data {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64) ?? Data()
    }
}

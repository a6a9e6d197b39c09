import Testing
import Upstream
import XYCore

@Suite("Upstream configuration defaults")
struct UpstreamConfigurationDefaultsTests {
    @Test("the plain initializer takes every unset setting from its variable's default")
    func plainInitializerUsesVariableDefaults() throws {
        let url = "ws://127.0.0.1:9100/stocks"
        let plain = UpstreamConfiguration(url: url, apiKey: "k")
        let read = try UpstreamConfiguration(environment: EnvironmentReader(["UPSTREAM_URL": url, "UPSTREAM_API_KEY": "k"]))
        #expect(plain.symbols == read.symbols && plain.channels == read.channels && plain.maxSymbols == read.maxSymbols)
        #expect(plain.backoffInitial == read.backoffInitial && plain.backoffMaximum == read.backoffMaximum)
        #expect(plain.authRetryDelay == read.authRetryDelay && plain.maxConnectionsRetryDelay == read.maxConnectionsRetryDelay)
        #expect(plain.silenceTimeout == read.silenceTimeout && plain.pingInterval == read.pingInterval && plain.source == read.source)
        #expect(plain.leaseGrace == read.leaseGrace && plain.leaseGrace == .seconds(60))
        #expect(try UpstreamConfiguration(environment: EnvironmentReader(["UPSTREAM_URL": url, "UPSTREAM_API_KEY": "k", "UPSTREAM_LEASE_GRACE": "1500ms"])).leaseGrace == .milliseconds(1500))
        // The defaults the README documents, read from the variables.
        #expect(plain.backoffInitial == .milliseconds(250) && plain.backoffMaximum == .seconds(30) && plain.channels == ["T", "Q", "AM"])
        // A setting given explicitly wins over its default.
        #expect(UpstreamConfiguration(url: url, apiKey: "k", backoffInitial: .seconds(1)).backoffInitial == .seconds(1))
    }
}

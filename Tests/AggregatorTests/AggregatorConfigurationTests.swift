import Aggregator
import Testing
import XYCore

@Suite struct AggregatorConfigurationTests {
    private func configuration(_ environment: [String: String]) throws(ConfigurationError) -> AggregatorConfiguration {
        try AggregatorConfiguration(environment: EnvironmentReader(environment))
    }

    private func failingVariable(_ environment: [String: String]) -> String? {
        do {
            _ = try configuration(environment)
            return nil
        } catch {
            return error.variable
        }
    }

    @Test func defaultsAreOneDemoGroupOfTheSimulatorsSymbols() throws {
        let defaults = try configuration([:])
        #expect(defaults.groups == [.init(name: "demo", symbols: ["SPY", "NVDA", "TSLA", "AAPL", "AMD", "AMZN", "QQQ", "MSFT", "META", "PLTR"])])
        #expect(defaults.tickInterval == .milliseconds(33))
        #expect(defaults.snapshotInterval == .seconds(3))
        #expect(defaults.barGrace == .seconds(5))
        #expect(defaults.eventFutureSkew == .seconds(5))
        #expect(defaults.streamReplicas == 1)
    }

    @Test func streamReplicasReachBothStreams() throws {
        let clustered = try configuration(["XY_STREAM_REPLICAS": "3"])
        #expect(AggregatorStreams.ticksConfiguration(clustered).replicas == 3)
        #expect(AggregatorStreams.barsConfiguration(clustered).replicas == 3)
    }

    @Test func groupsAndOwnedSubset() throws {
        let all = try configuration(["AGG_GROUPS": "demo=aapl, MSFT ;tech=NVDA,AAPL,NVDA;"])
        #expect(all.groups == [.init(name: "demo", symbols: ["AAPL", "MSFT"]), .init(name: "tech", symbols: ["NVDA", "AAPL"])])
        let owned = try configuration(["AGG_GROUPS": "demo=AAPL;tech=NVDA;etf=SPY", "AGG_OWN_GROUPS": "etf,tech"])
        #expect(owned.groups.map(\.name) == ["etf", "tech"])
    }

    @Test(arguments: [
        (["SNAPSHOT_INTERVAL": "1s"], "SNAPSHOT_INTERVAL"),
        (["SNAPSHOT_INTERVAL": "6s"], "SNAPSHOT_INTERVAL"),
        (["SNAPSHOT_INTERVAL": "soon"], "SNAPSHOT_INTERVAL"),
        (["TICK_INTERVAL": "0ms"], "TICK_INTERVAL"),
        (["TICK_INTERVAL": "2s"], "TICK_INTERVAL"),
        (["AGG_GROUPS": "demo"], "AGG_GROUPS"),
        (["AGG_GROUPS": "demo="], "AGG_GROUPS"),
        (["AGG_GROUPS": "de.mo=AAPL"], "AGG_GROUPS"),
        (["AGG_GROUPS": "demo=AA PL"], "AGG_GROUPS"),
        (["AGG_GROUPS": "demo=AAPL;demo=MSFT"], "AGG_GROUPS"),
        (["AGG_OWN_GROUPS": "tech"], "AGG_OWN_GROUPS"),
        (["BAR_GRACE": "60s"], "BAR_GRACE"),
        (["EVENT_FUTURE_SKEW": "2h"], "EVENT_FUTURE_SKEW"),
        (["EVENT_FUTURE_SKEW": "0s"], "EVENT_FUTURE_SKEW"),
        (["XY_TICKS_MAX_BYTES": "lots"], "XY_TICKS_MAX_BYTES"),
        (["XY_BARS_MAX_AGE": "-1s"], "XY_BARS_MAX_AGE"),
        (["XY_STREAM_REPLICAS": "0"], "XY_STREAM_REPLICAS"),
        (["XY_STREAM_REPLICAS": "6"], "XY_STREAM_REPLICAS"),
    ])
    func badValuesNameTheirVariable(environment: [String: String], variable: String) {
        #expect(failingVariable(environment) == variable)
    }

    @Test func eventFutureSkewIsReadUpToOneHour() throws {
        #expect(try configuration(["EVENT_FUTURE_SKEW": "250ms"]).eventFutureSkew == .milliseconds(250))
        #expect(try configuration(["EVENT_FUTURE_SKEW": "1h"]).eventFutureSkew == .seconds(3600))
    }

    @Test func snapshotIntervalBoundsAreInclusive() throws {
        #expect(try configuration(["SNAPSHOT_INTERVAL": "2s"]).snapshotInterval == .seconds(2))
        #expect(try configuration(["SNAPSHOT_INTERVAL": "5000ms"]).snapshotInterval == .seconds(5))
    }
}

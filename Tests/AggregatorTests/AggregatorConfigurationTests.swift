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

    @Test func dynamicGroupsAreCountedOwnedAndNamedApart() throws {
        let defaults = try configuration([:])
        #expect(defaults.symbolGroups.dynamicCount == 16 && defaults.dynamicGroups.count == 16 && defaults.dynamicGroups.last == "dyn-15")
        let owned = try configuration(["AGG_GROUPS": "demo=AAPL;tech=NVDA", "AGG_DYNAMIC_GROUPS": "8", "AGG_OWN_GROUPS": "dyn-07,tech,dyn-00"])
        #expect(owned.groups.map(\.name) == ["tech"] && owned.dynamicGroups == ["dyn-07", "dyn-00"])
        #expect(owned.symbolGroups.group(of: "AAPL") == "demo", "the mapping holds every configured group, owned or not")
        #expect(owned.symbolGroups.dynamicNames.count == 8)
        let plain = AggregatorConfiguration(groups: [.init(name: "x", symbols: ["AAPL"])], dynamicGroupCount: 4, dynamicGroups: ["dyn-02"])
        #expect(plain.symbolGroups.group(of: "AAPL") == "x" && plain.symbolGroups.dynamicCount == 4 && plain.dynamicGroups == ["dyn-02"])
        #expect(failingVariable(["AGG_DYNAMIC_GROUPS": "0"]) == "AGG_DYNAMIC_GROUPS")
        #expect(failingVariable(["AGG_DYNAMIC_GROUPS": "1001"]) == "AGG_DYNAMIC_GROUPS")
        #expect(failingVariable(["AGG_GROUPS": "dyn-03=AAPL"]) == "AGG_GROUPS", "a configured group named like a dynamic one")
        #expect(failingVariable(["AGG_OWN_GROUPS": "dyn-16"]) == "AGG_OWN_GROUPS", "beyond the dynamic count")
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

import Aggregator
import Testing
import XYCore

@Suite struct AggregatorConfigurationDefaultsTests {
    @Test func plainInitializerTakesEachUnsetSettingFromItsVariable() throws {
        let plain = AggregatorConfiguration()
        let read = try AggregatorConfiguration(environment: EnvironmentReader([:]))
        #expect(plain.groups == read.groups && plain.tickInterval == read.tickInterval)
        #expect(plain.snapshotInterval == read.snapshotInterval && plain.barGrace == read.barGrace)
        #expect(plain.eventFutureSkew == read.eventFutureSkew && plain.ticksMaxAge == read.ticksMaxAge)
        #expect(plain.ticksMaxBytes == read.ticksMaxBytes && plain.barsMaxAge == read.barsMaxAge)
        #expect(plain.streamReplicas == read.streamReplicas)
        #expect(plain.ticksMaxAge == .seconds(86_400) && plain.barsMaxAge == .seconds(30 * 86_400) && plain.ticksMaxBytes == 1 << 30)
        let given = AggregatorConfiguration(tickInterval: .milliseconds(10))
        #expect(given.tickInterval == .milliseconds(10) && given.snapshotInterval == read.snapshotInterval)
    }
}

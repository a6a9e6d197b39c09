import Gateway
import GatewayAuth
import Testing
import XYCore

@Suite("Gateway configuration defaults")
struct GatewayConfigurationDefaultsTests {
    @Test("the plain initializer is the variables' defaults, serving no files")
    func plainInitializerUsesVariableDefaults() throws {
        let plain = GatewayConfiguration()
        let read = try GatewayConfiguration(environment: EnvironmentReader([:]))
        #expect(plain.maxSubscriptions == read.maxSubscriptions && plain.queueMaxMessages == read.queueMaxMessages)
        #expect(plain.queueMaxBytes == read.queueMaxBytes && plain.backpressure == read.backpressure)
        #expect(plain.slowConsumerTimeout == read.slowConsumerTimeout && plain.pingInterval == read.pingInterval)
        #expect(plain.idleTimeout == read.idleTimeout && plain.snapshotRequestTimeout == read.snapshotRequestTimeout)
        #expect(plain.closeTimeout == read.closeTimeout && plain.producerSilence == read.producerSilence)
        #expect(plain.requestTimeout == read.requestTimeout && plain.keepAliveTimeout == read.keepAliveTimeout)
        #expect(plain.maxConnectionsPerAddress == read.maxConnectionsPerAddress)
        #expect(plain.maxConnectionsPerSubject == read.maxConnectionsPerSubject)
        #expect(plain.staticDirectory == nil && read.staticDirectory == "Web")
        #expect(plain.queueMaxBytes == 4 << 20 && plain.pingInterval == .seconds(15) && plain.maxInboundMessageBytes == 1 << 20)
    }

    @Test("--help lists the authentication variables from GatewayAuth, each once")
    func authenticationVariablesListedOnce() {
        let names = GatewayConfiguration.variables.map(\.name)
        #expect(Set(names).count == names.count)
        for variable in GatewayAuthConfiguration.variables {
            #expect(names.contains(variable.name))
        }
        let leeway = GatewayConfiguration.variables.first { $0.name == "JWT_LEEWAY_SECONDS" }
        #expect(leeway?.defaultValue == "30")
    }
}

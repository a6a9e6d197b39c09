// xy-realtime: the vendor WebSocket in, normalized MarketEvents out on NATS. Wiring only; the
// logic lives in Libraries/Upstream and Libraries/XYService.
import Upstream
import XYCore
import XYService

try await ServiceRuntime.main(
    serviceName: "xy-realtime",
    defaultHTTPPort: 9101,
    summary: "holds the vendor WebSocket (Polygon/Massive protocol) and publishes normalized events on xy.md.event.<SYMBOL>.",
    variables: UpstreamConfiguration.variables,
    settings: { environment throws(ConfigurationError) in try UpstreamConfiguration(environment: environment) },
    secrets: { upstream in [upstream.apiKey] },
    start: { context, upstreamConfiguration in
        let metrics = UpstreamMetrics()
        let upstream = UpstreamClient(
            configuration: upstreamConfiguration, nats: context.nats, metrics: metrics, readiness: context.readiness,
            logger: context.logger)
        return ServiceRuntime.Parts(
            services: [
                UpstreamControlService(nats: context.nats, upstream: upstream, logger: context.logger),
                UpstreamLeaseService(
                    nats: context.nats, upstream: upstream, metrics: metrics, readiness: context.readiness,
                    instance: context.configuration.instance, grace: upstreamConfiguration.leaseGrace, logger: context.logger),
                upstream,
            ],
            observability: .server(histograms: [metrics.ingestLatency]))
    }
)

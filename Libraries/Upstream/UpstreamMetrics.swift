import Metrics
import XYService

/// The proxy's metrics, created once and shared (swift-metrics handles are thread-safe):
/// `xy_upstream_connected`, `xy_upstream_reconnects_total`, `xy_upstream_events_total{ev}`,
/// `xy_upstream_malformed_total{reason}` (`too_large`: a message over `UPSTREAM_MAX_MESSAGE_BYTES`), `xy_md_published_total`, `xy_md_publish_failed_total`,
/// `xy_ingest_latency_seconds`; for the gateways' leases `xy_upstream_leases`, `xy_upstream_leased_symbols`,
/// `xy_upstream_streamed_symbols`, `xy_upstream_refused_symbols`, `xy_upstream_reclaimed_symbols_total`,
/// `xy_upstream_lease_malformed_total`.
public struct UpstreamMetrics: Sendable {
    public let connected = Gauge(label: "xy_upstream_connected")
    public let reconnects = Counter(label: "xy_upstream_reconnects_total")
    public let trades = Counter(label: "xy_upstream_events_total", dimensions: [("ev", "T")])
    public let quotes = Counter(label: "xy_upstream_events_total", dimensions: [("ev", "Q")])
    public let secondAggregates = Counter(label: "xy_upstream_events_total", dimensions: [("ev", "A")])
    public let minuteAggregates = Counter(label: "xy_upstream_events_total", dimensions: [("ev", "AM")])
    public let statuses = Counter(label: "xy_upstream_events_total", dimensions: [("ev", "status")])
    public let malformedSyntax = Counter(label: "xy_upstream_malformed_total", dimensions: [("reason", "syntax")])
    public let malformedEvent = Counter(label: "xy_upstream_malformed_total", dimensions: [("reason", "invalid_event")])
    public let unknownEvent = Counter(label: "xy_upstream_malformed_total", dimensions: [("reason", "unknown_ev")])
    public let invalidSymbol = Counter(label: "xy_upstream_malformed_total", dimensions: [("reason", "invalid_symbol")])
    /// Messages over the reassembly cap; each closes the connection.
    public let tooLarge = Counter(label: "xy_upstream_malformed_total", dimensions: [("reason", "too_large")])
    public let published = Counter(label: "xy_md_published_total")
    public let publishFailed = Counter(label: "xy_md_publish_failed_total")
    /// Recorded once per frame for all its events; served through ``ObservabilityServer``'s `histograms`.
    public let ingestLatency = BatchHistogram(name: "xy_ingest_latency_seconds")

    /// Gateways holding a live lease.
    public let leases = Gauge(label: "xy_upstream_leases")
    /// Distinct symbols the live leases name.
    public let leasedSymbols = Gauge(label: "xy_upstream_leased_symbols")
    /// Symbols in the vendor subscription (configured, requested and leased; 0 for the wildcard).
    public let streamedSymbols = Gauge(label: "xy_upstream_streamed_symbols")
    /// Leased symbols the quota (`UPSTREAM_MAX_SYMBOLS`) has no room for.
    public let refusedSymbols = Gauge(label: "xy_upstream_refused_symbols")
    /// Symbols unsubscribed because no lease wanted them any more.
    public let reclaimedSymbols = Counter(label: "xy_upstream_reclaimed_symbols_total")
    /// Messages on `xy.ctl.lease.*` dropped as malformed (XYW110).
    public let leaseMalformed = Counter(label: "xy_upstream_lease_malformed_total")

    public init() {
        connected.record(0)
    }
}

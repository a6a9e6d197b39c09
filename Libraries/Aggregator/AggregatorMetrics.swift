import MarketData
import Metrics

/// The aggregator's metrics, created once (swift-metrics handles are thread-safe). The event path
/// never touches them: the engine counts in plain integers on its event loop and adds the deltas
/// here once per tick (``AggregatorEngine``).
public struct AggregatorMetrics: Sendable {
    /// Market events received (every decoded `xy.md.event.*` message).
    public let eventsIn = Counter(label: "xy_md_events_in_total")
    /// Events older than (or duplicates of) what their symbol already applied.
    public let staleEvents = Counter(label: "xy_md_stale_events_total")
    /// Every refused event, whatever the reason (the sum of `xy_md_events_refused_total`).
    public let invalidEvents = Counter(label: "xy_md_invalid_events_total")
    /// Refused events by reason (``EventRefusal``'s raw values: `malformed`, `price`, `size`,
    /// `crossed_quote`, `aggregate_range`, `volume`, `time`, `future_time`), in `EventRefusal.allCases` order.
    public let refusedEvents: [Counter] = EventRefusal.allCases.map {
        Counter(label: "xy_md_events_refused_total", dimensions: [("reason", $0.rawValue)])
    }
    public let ticksOut = Counter(label: "xy_md_ticks_out_total")
    public let snapshotsOut = Counter(label: "xy_md_snapshots_out_total")
    /// Bars acknowledged by `XY_BARS` (sealed and amended; de-duplicated ones not counted).
    public let barsOut = Counter(label: "xy_md_bars_out_total")
    /// Snapshot requests answered on `xy.md.snapshot.get.<group>`.
    public let snapshotRequests = Counter(label: "xy_md_snapshot_requests_total")
    /// Tick batches, snapshots or bars the stream did not acknowledge.
    public let storeFailures = Counter(label: "xy_md_store_failures_total")
    /// Symbols dropped by ``AggregatorEngine/reclaim(symbols:)`` (nobody streams them any more).
    public let reclaimedSymbols = Counter(label: "xy_md_symbols_reclaimed_total")
    /// Symbols held across the owned groups, configured and dynamic (what memory follows).
    public let heldSymbols = Gauge(label: "xy_md_symbols")
    /// Time between two batches of a group (the cadence, ideally `TICK_INTERVAL`).
    public let batchInterval = Timer(label: "xy_md_batch_interval_seconds")
    /// Symbols per batch.
    public let batchSymbols = Recorder(label: "xy_md_batch_symbols", aggregate: true)
    /// From the receipt of the oldest event in a batch to the batch's publish.
    public let fanoutLatency = Timer(label: "xy_md_fanout_latency_seconds")

    /// Buckets for `xy_md_batch_symbols` (a count, not a duration), for `ServiceRuntime.bootstrap`.
    public static let valueHistogramBuckets: [String: [Double]] = [
        "xy_md_batch_symbols": [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
    ]

    public init() {}
}

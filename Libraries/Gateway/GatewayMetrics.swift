import Metrics

/// The gateway's metrics, created once (swift-metrics handles are thread-safe). The per-message
/// path adds one count per delivery per event loop, not one per connection.
public struct GatewayMetrics: Sendable {
    public let activeConnections = Meter(label: "xy_ws_active_connections")
    /// Frames written to clients (tick batches, snapshots, bars; per connection).
    public let forwarded = Counter(label: "xy_ws_messages_forwarded_total")
    public let droppedConflated = Counter(label: "xy_ws_messages_dropped_total", dimensions: [("reason", "conflated")])
    public let droppedOldest = Counter(label: "xy_ws_messages_dropped_total", dimensions: [("reason", "drop_oldest")])
    public let droppedNewest = Counter(label: "xy_ws_messages_dropped_total", dimensions: [("reason", "drop_newest")])
    public let droppedSlowConsumer = Counter(label: "xy_ws_messages_dropped_total", dimensions: [("reason", "slow_consumer")])
    public let slowConsumers = Counter(label: "xy_ws_slow_consumers_total")
    /// Snapshots sent to a client after it lost batches to its queue policy.
    public let resnapshots = Counter(label: "xy_ws_resnapshots_total")
    /// Messages in a connection's queue when one more was queued (only while its socket is full).
    public let sendQueueSize = Recorder(label: "xy_ws_send_queue_size", aggregate: true)
    /// From a batch's publish by the aggregator to its write to the first client of an event loop.
    public let endToEndLatency = Timer(label: "xy_e2e_latency_seconds")
    /// From a subscribe request to the first data frame written for it.
    public let firstMessage = Timer(label: "xy_ws_first_message_seconds")
    /// NATS subscriptions the hub holds (one per distinct client subject, plus the snapshot feeds).
    public let natsSubscriptions = Meter(label: "xy_ws_nats_subscriptions")
    /// Gaps in the gateway's own tick stream (each triggers a snapshot request).
    public let gaps = Counter(label: "xy_ws_upstream_gaps_total")
    /// Producers that started a new epoch (restarted without their stream): each resets the
    /// group's cache and sends every subscriber the new epoch's snapshot.
    public let epochChanges = Counter(label: "xy_ws_epoch_changes_total")
    public let undecodable = Counter(label: "xy_ws_undecodable_messages_total")
    public let closedByPolicy = Counter(label: "xy_ws_policy_closes_total")

    public init() {}

    /// One counter per refusal code (`xy_ws_auth_failures_total{code}`).
    public func authFailure(code: String) {
        Counter(label: "xy_ws_auth_failures_total", dimensions: [("code", code)]).increment()
    }

    /// Buckets for `xy_ws_send_queue_size` (a count), for `ServiceRuntime.bootstrap`.
    public static let valueHistogramBuckets: [String: [Double]] = [
        "xy_ws_send_queue_size": [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096],
    ]
}

import NIOConcurrencyHelpers
import NIOCore

/// A Prometheus histogram of durations fed a batch at a time: one lock per batch and a plain
/// integer compare per value, for hot paths that observe every event. swift-prometheus's
/// histogram takes its lock and compares `Duration`s through the runtime for each value, which
/// measured at 5 % of the proxy's time when it timed every event it published.
///
/// Served on `/metrics` by ``ObservabilityServer`` (pass it in `histograms`), after the registry.
public final class BatchHistogram: Sendable {
    /// The metric name, e.g. `xy_ingest_latency_seconds`.
    public let name: String
    /// Upper bounds of the buckets, in nanoseconds, ascending.
    private let bounds: [Int64]
    private let state: NIOLockedValueBox<State>

    private struct State {
        /// Per bucket (not cumulative), with one more for +Inf.
        var counts: [UInt64]
        /// 128 bits: a 64-bit sum of nanoseconds would wrap within weeks at 300,000 events/s, or at
        /// once after a few events with absurd vendor times.
        var sumNanoseconds: Int128 = 0
        var count: UInt64 = 0
    }

    /// `buckets` are the upper bounds (inclusive), in any order; a +Inf bucket is always added.
    public init(name: String, buckets: [Duration] = ServiceRuntime.durationBuckets) {
        self.name = name
        self.bounds = buckets.map { TimeAmount($0).nanoseconds }.sorted()
        self.state = NIOLockedValueBox(State(counts: Array(repeating: 0, count: buckets.count + 1)))
    }

    /// Observes every value of `nanoseconds` (negative ones count as zero).
    /// (An array, not a generic collection: called across modules, a generic one would look up
    /// type metadata at run time on every call.)
    public func record(nanoseconds values: [Int64]) {
        guard !values.isEmpty else { return }
        bounds.withUnsafeBufferPointer { bounds in
            state.withLockedValue { state in
                for raw in values {
                    let value = max(0, raw)
                    var bucket = 0
                    while bucket < bounds.count, bounds[bucket] < value { bucket += 1 }
                    state.counts[bucket] += 1
                    state.sumNanoseconds += Int128(value)
                }
                state.count += UInt64(values.count)
            }
        }
    }

    /// Observes one value.
    public func record(nanoseconds value: Int64) {
        record(nanoseconds: [value])
    }

    /// Total observations so far.
    public var count: UInt64 { state.withLockedValue { $0.count } }

    /// The Prometheus text exposition: cumulative `_bucket{le=…}` lines in seconds, `_sum`, `_count`.
    public func exposition() -> String {
        let snapshot = state.withLockedValue { $0 }
        var text = "# TYPE \(name) histogram\n"
        var cumulative: UInt64 = 0
        for (index, bound) in bounds.enumerated() {
            cumulative += snapshot.counts[index]
            text += "\(name)_bucket{le=\"\(Self.seconds(bound))\"} \(cumulative)\n"
        }
        text += "\(name)_bucket{le=\"+Inf\"} \(snapshot.count)\n"
        text += "\(name)_sum \(Double(snapshot.sumNanoseconds) / 1e9)\n"
        text += "\(name)_count \(snapshot.count)\n"
        return text
    }

    private static func seconds(_ nanoseconds: Int64) -> String {
        "\(Double(nanoseconds) / 1e9)"
    }
}

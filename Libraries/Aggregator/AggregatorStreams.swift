import NATS
import NIOCore

/// The two streams the aggregator keeps its output in, created or updated at every start.
public enum AggregatorStreams {
    /// Tick batches and snapshots of every group: audit, replay and gap filling.
    public static let ticks = "XY_TICKS"
    /// Closed 1-minute bars, one subject per symbol, kept longer.
    public static let bars = "XY_BARS"
    /// The last bar checkpoint of each group (open and still amendable bars), for restarts.
    public static let barState = "XY_BAR_STATE"

    /// `XY_TICKS`: `xy.md.tick.>` and `xy.md.snapshot.*`, limited by age and size, direct get on
    /// (restart and gap repair read the last message of a subject).
    ///
    /// Snapshots are `xy.md.snapshot.*`, not `.>`: a stream on `xy.md.snapshot.>` would also
    /// capture the requests on `xy.md.snapshot.get.<group>` and answer them with a publish ack,
    /// racing the aggregator's reply (group names never contain a dot, and `get` is reserved).
    public static let ticksSubjects = ["xy.md.tick.>", "xy.md.snapshot.*"]

    public static func ticksConfiguration(_ configuration: AggregatorConfiguration) -> StreamConfiguration {
        var stream = StreamConfiguration(name: ticks, subjects: ticksSubjects)
        stream.description = "xy-aggregator tick batches and snapshots per group"
        stream.maxAge = TimeAmount(configuration.ticksMaxAge)
        stream.maxBytes = configuration.ticksMaxBytes
        stream.allowDirect = true
        stream.discard = .old
        stream.replicas = configuration.streamReplicas
        return stream
    }

    /// `XY_BARS`: `xy.md.bar.>`, one subject per symbol, limited by age; a de-duplication window
    /// of two minutes covers a bar's re-publication after a retry.
    public static func barsConfiguration(_ configuration: AggregatorConfiguration) -> StreamConfiguration {
        var stream = StreamConfiguration(name: bars, subjects: ["xy.md.bar.>"])
        stream.description = "xy-aggregator 1-minute bars per symbol"
        stream.maxAge = TimeAmount(configuration.barsMaxAge)
        stream.allowDirect = true
        stream.discard = .old
        stream.duplicateWindow = .minutes(2)
        stream.replicas = configuration.streamReplicas
        return stream
    }

    /// `XY_BAR_STATE`: `xy.md.barstate.*`, only the newest checkpoint per group (a restart needs
    /// no other), for a day at most (by then every bar in it is sealed and stored in `XY_BARS`).
    public static func barStateConfiguration() -> StreamConfiguration {
        var stream = StreamConfiguration(name: barState, subjects: ["xy.md.barstate.*"])
        stream.description = "xy-aggregator open and amendable 1-minute bars per group, newest checkpoint only"
        stream.maxMessagesPerSubject = 1
        stream.maxAge = .hours(24)
        stream.allowDirect = true
        stream.discard = .old
        return stream
    }
}

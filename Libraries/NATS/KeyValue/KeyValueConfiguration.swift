import NIOCore

/// A key-value bucket's settings; it is stored as the stream `KV_<bucket>` on subjects `$KV.<bucket>.>`.
public struct KeyValueConfiguration: Sendable, Hashable {
    public var bucket: String
    public var description: String?
    /// Values kept per key (1–64); older revisions are dropped.
    public var history: Int = 1
    /// How long a value lives; `.zero` keeps it until replaced.
    public var ttl: TimeAmount = .zero
    /// -1: unlimited.
    public var maxBytes: Int64 = -1
    public var maxValueSize: Int32 = -1
    public var storage: StreamConfiguration.Storage = .file
    public var replicas: Int = 1

    public init(bucket: String) {
        self.bucket = bucket
    }

    /// The backing stream, configured as every NATS client does for a bucket (ADR-8), so that
    /// nats-py, nats.go and the `nats` CLI open the same bucket.
    var streamConfiguration: StreamConfiguration {
        var config = StreamConfiguration(name: KeyValue.streamName(bucket), subjects: ["$KV.\(bucket).>"])
        config.description = description
        config.maxMessagesPerSubject = Int64(history)
        config.maxBytes = maxBytes
        config.maxAge = ttl
        config.maxMessageSize = maxValueSize
        config.storage = storage
        config.replicas = replicas
        config.allowRollup = true
        config.denyDelete = true
        config.allowDirect = true
        config.discard = .new
        let twoMinutes = TimeAmount.minutes(2)
        config.duplicateWindow = ttl > .zero && ttl < twoMinutes ? ttl : twoMinutes
        return config
    }
}

/// One value of a key at one revision, or the marker a delete or purge left.
public struct KeyValueEntry: Sendable {
    /// What the revision did to the key.
    public enum Operation: Sendable, Hashable {
        case put
        case delete
        case purge
    }

    public var bucket: String
    public var key: String
    public var value: ByteBuffer
    /// The stream sequence of this revision: what `update` compares against.
    public var revision: UInt64
    /// Store time, nanoseconds since the Unix epoch.
    public var timeNanoseconds: Int64
    /// Entries still to come after this one when it was delivered (watch, history); 0 for `get`.
    public var delta: UInt64
    public var operation: Operation

    /// The value decoded as UTF-8 (lossy).
    public var string: String { String(buffer: value) }

    static func operation(from headers: NATSHeaders?) -> Operation {
        switch headers?[KeyValue.operationHeader] {
        case "DEL"?: .delete
        case "PURGE"?: .purge
        default: .put
        }
    }
}

/// What a watcher yields: entries, and once, the point where the current values end and live updates begin.
public enum KeyValueWatchEvent: Sendable {
    case entry(KeyValueEntry)
    case initialValuesDone
}

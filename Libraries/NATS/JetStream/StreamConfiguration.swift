import NIOCore

/// The stream settings xy uses (a subset of the server's), with the server's defaults; sent as the
/// JetStream API's JSON, durations in nanoseconds.
public struct StreamConfiguration: Sendable, Hashable, Codable {
    /// When the server may delete messages besides the limits.
    public struct Retention: RawRepresentable, Hashable, Sendable, Codable {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        /// Keep until a limit (count, bytes, age) is reached.
        public static let limits = Retention(rawValue: "limits")
        /// Keep while some consumer has not acknowledged.
        public static let interest = Retention(rawValue: "interest")
        /// Each message is consumed once.
        public static let workQueue = Retention(rawValue: "workqueue")
    }

    /// Where messages live.
    public struct Storage: RawRepresentable, Hashable, Sendable, Codable {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public static let file = Storage(rawValue: "file")
        public static let memory = Storage(rawValue: "memory")
    }

    /// What happens when a limit is reached: drop the oldest, or refuse the new message.
    public struct Discard: RawRepresentable, Hashable, Sendable, Codable {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public static let old = Discard(rawValue: "old")
        public static let new = Discard(rawValue: "new")
    }

    public var name: String
    public var description: String?
    public var subjects: [String]
    public var retention: Retention = .limits
    /// -1: unlimited.
    public var maxConsumers: Int = -1
    public var maxMessages: Int64 = -1
    public var maxBytes: Int64 = -1
    /// `.zero`: no age limit.
    public var maxAge: TimeAmount = .zero
    public var maxMessagesPerSubject: Int64 = -1
    public var maxMessageSize: Int32 = -1
    public var storage: Storage = .file
    public var discard: Discard = .old
    public var replicas: Int = 1
    /// Window in which a repeated `Nats-Msg-Id` is a duplicate; `.zero` lets the server choose (2 min).
    public var duplicateWindow: TimeAmount = .zero
    /// Lets any replica answer `DIRECT.GET` (the fast read path key-value uses).
    public var allowDirect: Bool = false
    /// Honours `Nats-Rollup` headers (key-value purge).
    public var allowRollup: Bool = false
    public var denyDelete: Bool = false
    public var denyPurge: Bool = false

    public init(name: String, subjects: [String] = []) {
        self.name = name
        self.subjects = subjects
    }

    enum CodingKeys: String, CodingKey {
        case name, description, subjects, retention, storage, discard
        case maxConsumers = "max_consumers"
        case maxMessages = "max_msgs"
        case maxBytes = "max_bytes"
        case maxAge = "max_age"
        case maxMessagesPerSubject = "max_msgs_per_subject"
        case maxMessageSize = "max_msg_size"
        case replicas = "num_replicas"
        case duplicateWindow = "duplicate_window"
        case allowDirect = "allow_direct"
        case allowRollup = "allow_rollup_hdrs"
        case denyDelete = "deny_delete"
        case denyPurge = "deny_purge"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        description = try c.decodeIfPresent(String.self, forKey: .description)
        subjects = try c.decodeIfPresent([String].self, forKey: .subjects) ?? []
        retention = try c.decodeIfPresent(Retention.self, forKey: .retention) ?? .limits
        maxConsumers = try c.decodeIfPresent(Int.self, forKey: .maxConsumers) ?? -1
        maxMessages = try c.decodeIfPresent(Int64.self, forKey: .maxMessages) ?? -1
        maxBytes = try c.decodeIfPresent(Int64.self, forKey: .maxBytes) ?? -1
        maxAge = .nanoseconds(try c.decodeIfPresent(Int64.self, forKey: .maxAge) ?? 0)
        maxMessagesPerSubject = try c.decodeIfPresent(Int64.self, forKey: .maxMessagesPerSubject) ?? -1
        maxMessageSize = try c.decodeIfPresent(Int32.self, forKey: .maxMessageSize) ?? -1
        storage = try c.decodeIfPresent(Storage.self, forKey: .storage) ?? .file
        discard = try c.decodeIfPresent(Discard.self, forKey: .discard) ?? .old
        replicas = try c.decodeIfPresent(Int.self, forKey: .replicas) ?? 1
        duplicateWindow = .nanoseconds(try c.decodeIfPresent(Int64.self, forKey: .duplicateWindow) ?? 0)
        allowDirect = try c.decodeIfPresent(Bool.self, forKey: .allowDirect) ?? false
        allowRollup = try c.decodeIfPresent(Bool.self, forKey: .allowRollup) ?? false
        denyDelete = try c.decodeIfPresent(Bool.self, forKey: .denyDelete) ?? false
        denyPurge = try c.decodeIfPresent(Bool.self, forKey: .denyPurge) ?? false
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encodeIfPresent(description, forKey: .description)
        try c.encode(subjects, forKey: .subjects)
        try c.encode(retention, forKey: .retention)
        try c.encode(maxConsumers, forKey: .maxConsumers)
        try c.encode(maxMessages, forKey: .maxMessages)
        try c.encode(maxBytes, forKey: .maxBytes)
        try c.encode(maxAge.nanoseconds, forKey: .maxAge)
        try c.encode(maxMessagesPerSubject, forKey: .maxMessagesPerSubject)
        try c.encode(maxMessageSize, forKey: .maxMessageSize)
        try c.encode(storage, forKey: .storage)
        try c.encode(discard, forKey: .discard)
        try c.encode(replicas, forKey: .replicas)
        if duplicateWindow != .zero { try c.encode(duplicateWindow.nanoseconds, forKey: .duplicateWindow) }
        if allowDirect { try c.encode(true, forKey: .allowDirect) }
        if allowRollup { try c.encode(true, forKey: .allowRollup) }
        if denyDelete { try c.encode(true, forKey: .denyDelete) }
        if denyPurge { try c.encode(true, forKey: .denyPurge) }
    }
}

/// A stream's configuration as the server applied it, and its state.
public struct StreamInfo: Sendable, Hashable, Decodable {
    public var config: StreamConfiguration
    public var state: StreamState
    /// RFC 3339 creation time, as the server wrote it.
    public var created: String?
}

/// How many messages a stream holds and which sequences.
public struct StreamState: Sendable, Hashable, Decodable {
    public var messages: UInt64
    public var bytes: UInt64
    public var firstSequence: UInt64
    public var lastSequence: UInt64
    public var consumerCount: Int
    /// Distinct subjects (servers before 2.9 leave it out).
    public var subjectCount: UInt64?

    enum CodingKeys: String, CodingKey {
        case messages, bytes
        case firstSequence = "first_seq"
        case lastSequence = "last_seq"
        case consumerCount = "consumer_count"
        case subjectCount = "num_subjects"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        messages = try c.decodeIfPresent(UInt64.self, forKey: .messages) ?? 0
        bytes = try c.decodeIfPresent(UInt64.self, forKey: .bytes) ?? 0
        firstSequence = try c.decodeIfPresent(UInt64.self, forKey: .firstSequence) ?? 0
        lastSequence = try c.decodeIfPresent(UInt64.self, forKey: .lastSequence) ?? 0
        consumerCount = try c.decodeIfPresent(Int.self, forKey: .consumerCount) ?? 0
        subjectCount = try c.decodeIfPresent(UInt64.self, forKey: .subjectCount)
    }
}

import NIOCore
import XYCore

/// Consumer settings (the subset xy uses): where delivery starts, how acks work, pull or push.
public struct ConsumerConfiguration: Sendable, Hashable, Codable {
    /// Where in the stream delivery starts.
    public enum DeliverPolicy: Sendable, Hashable {
        case all
        case last
        case new
        /// The newest message of every subject (key-value watch, current values).
        case lastPerSubject
        case byStartSequence(UInt64)
        /// The first message stored at or after this time (nanoseconds since the Unix epoch).
        case byStartTime(nanoseconds: Int64)
    }

    /// Which deliveries need an acknowledgement.
    public struct AckPolicy: RawRepresentable, Hashable, Sendable, Codable {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public static let none = AckPolicy(rawValue: "none")
        public static let all = AckPolicy(rawValue: "all")
        public static let explicit = AckPolicy(rawValue: "explicit")
    }

    /// Durable name; nil makes an ephemeral consumer the server names.
    public var durableName: String?
    public var description: String?
    public var deliverPolicy: DeliverPolicy = .all
    public var ackPolicy: AckPolicy = .explicit
    /// Time the server waits for an ack before it redelivers.
    public var ackWait: TimeAmount = .seconds(30)
    /// -1: unlimited deliveries.
    public var maxDeliver: Int = -1
    public var filterSubject: String?
    public var maxAckPending: Int?
    /// Push consumers only: where the server sends messages.
    public var deliverSubject: String?
    public var flowControl: Bool = false
    public var idleHeartbeat: TimeAmount?
    public var headersOnly: Bool = false
    public var memoryStorage: Bool = false
    public var replicas: Int?
    /// How long an idle consumer lives before the server removes it.
    public var inactiveThreshold: TimeAmount?

    public init(durableName: String? = nil) {
        self.durableName = durableName
    }

    enum CodingKeys: String, CodingKey {
        case description
        case durableName = "durable_name"
        case deliverPolicy = "deliver_policy"
        case startSequence = "opt_start_seq"
        case startTime = "opt_start_time"
        case ackPolicy = "ack_policy"
        case ackWait = "ack_wait"
        case maxDeliver = "max_deliver"
        case filterSubject = "filter_subject"
        case maxAckPending = "max_ack_pending"
        case deliverSubject = "deliver_subject"
        case flowControl = "flow_control"
        case idleHeartbeat = "idle_heartbeat"
        case headersOnly = "headers_only"
        case memoryStorage = "mem_storage"
        case replicas = "num_replicas"
        case inactiveThreshold = "inactive_threshold"
        case replayPolicy = "replay_policy"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        durableName = try c.decodeIfPresent(String.self, forKey: .durableName)
        description = try c.decodeIfPresent(String.self, forKey: .description)
        switch try c.decodeIfPresent(String.self, forKey: .deliverPolicy) ?? "all" {
        case "last": deliverPolicy = .last
        case "new": deliverPolicy = .new
        case "last_per_subject": deliverPolicy = .lastPerSubject
        case "by_start_sequence": deliverPolicy = .byStartSequence(try c.decodeIfPresent(UInt64.self, forKey: .startSequence) ?? 1)
        case "by_start_time":
            let text = try c.decodeIfPresent(String.self, forKey: .startTime) ?? ""
            deliverPolicy = .byStartTime(nanoseconds: ISO8601.nanoseconds(text) ?? 0)
        default: deliverPolicy = .all
        }
        ackPolicy = try c.decodeIfPresent(AckPolicy.self, forKey: .ackPolicy) ?? .explicit
        ackWait = .nanoseconds(try c.decodeIfPresent(Int64.self, forKey: .ackWait) ?? 30_000_000_000)
        maxDeliver = try c.decodeIfPresent(Int.self, forKey: .maxDeliver) ?? -1
        filterSubject = try c.decodeIfPresent(String.self, forKey: .filterSubject)
        maxAckPending = try c.decodeIfPresent(Int.self, forKey: .maxAckPending)
        deliverSubject = try c.decodeIfPresent(String.self, forKey: .deliverSubject)
        flowControl = try c.decodeIfPresent(Bool.self, forKey: .flowControl) ?? false
        idleHeartbeat = try c.decodeIfPresent(Int64.self, forKey: .idleHeartbeat).map(TimeAmount.nanoseconds)
        headersOnly = try c.decodeIfPresent(Bool.self, forKey: .headersOnly) ?? false
        memoryStorage = try c.decodeIfPresent(Bool.self, forKey: .memoryStorage) ?? false
        replicas = try c.decodeIfPresent(Int.self, forKey: .replicas)
        inactiveThreshold = try c.decodeIfPresent(Int64.self, forKey: .inactiveThreshold).map(TimeAmount.nanoseconds)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(durableName, forKey: .durableName)
        try c.encodeIfPresent(description, forKey: .description)
        switch deliverPolicy {
        case .all: try c.encode("all", forKey: .deliverPolicy)
        case .last: try c.encode("last", forKey: .deliverPolicy)
        case .new: try c.encode("new", forKey: .deliverPolicy)
        case .lastPerSubject: try c.encode("last_per_subject", forKey: .deliverPolicy)
        case .byStartSequence(let sequence):
            try c.encode("by_start_sequence", forKey: .deliverPolicy)
            try c.encode(sequence, forKey: .startSequence)
        case .byStartTime(let nanoseconds):
            try c.encode("by_start_time", forKey: .deliverPolicy)
            try c.encode(ISO8601.string(nanoseconds: nanoseconds), forKey: .startTime)
        }
        try c.encode(ackPolicy, forKey: .ackPolicy)
        if ackPolicy != .none { try c.encode(ackWait.nanoseconds, forKey: .ackWait) }
        try c.encode(maxDeliver, forKey: .maxDeliver)
        try c.encodeIfPresent(filterSubject, forKey: .filterSubject)
        try c.encodeIfPresent(maxAckPending, forKey: .maxAckPending)
        try c.encodeIfPresent(deliverSubject, forKey: .deliverSubject)
        if flowControl { try c.encode(true, forKey: .flowControl) }
        try c.encodeIfPresent(idleHeartbeat?.nanoseconds, forKey: .idleHeartbeat)
        if headersOnly { try c.encode(true, forKey: .headersOnly) }
        if memoryStorage { try c.encode(true, forKey: .memoryStorage) }
        try c.encodeIfPresent(replicas, forKey: .replicas)
        try c.encodeIfPresent(inactiveThreshold?.nanoseconds, forKey: .inactiveThreshold)
        try c.encode("instant", forKey: .replayPolicy)
    }
}

/// A consumer's configuration and progress as the server reports it.
public struct ConsumerInfo: Sendable, Hashable, Decodable {
    /// A position in the consumer's and the stream's sequences.
    public struct SequencePair: Sendable, Hashable, Decodable {
        public var consumerSequence: UInt64
        public var streamSequence: UInt64

        enum CodingKeys: String, CodingKey {
            case consumerSequence = "consumer_seq"
            case streamSequence = "stream_seq"
        }
    }

    public var stream: String
    public var name: String
    public var config: ConsumerConfiguration
    public var delivered: SequencePair
    public var ackFloor: SequencePair
    public var ackPending: Int
    public var redelivered: Int
    public var waiting: Int
    /// Messages matching the filter not yet delivered.
    public var pending: UInt64

    enum CodingKeys: String, CodingKey {
        case name, config, delivered
        case stream = "stream_name"
        case ackFloor = "ack_floor"
        case ackPending = "num_ack_pending"
        case redelivered = "num_redelivered"
        case waiting = "num_waiting"
        case pending = "num_pending"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        stream = try c.decode(String.self, forKey: .stream)
        name = try c.decode(String.self, forKey: .name)
        config = try c.decode(ConsumerConfiguration.self, forKey: .config)
        delivered = try c.decode(SequencePair.self, forKey: .delivered)
        ackFloor = try c.decode(SequencePair.self, forKey: .ackFloor)
        ackPending = try c.decodeIfPresent(Int.self, forKey: .ackPending) ?? 0
        redelivered = try c.decodeIfPresent(Int.self, forKey: .redelivered) ?? 0
        waiting = try c.decodeIfPresent(Int.self, forKey: .waiting) ?? 0
        pending = try c.decodeIfPresent(UInt64.self, forKey: .pending) ?? 0
    }
}

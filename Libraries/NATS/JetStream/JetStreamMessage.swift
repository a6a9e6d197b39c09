import NIOCore

/// A message delivered by a consumer, with its stream position and the acknowledgements it accepts.
public struct JetStreamMessage: Sendable {
    /// Where the message sits, read from its `$JS.ACK…` reply subject.
    public struct Metadata: Sendable, Hashable {
        public var domain: String?
        public var stream: String
        public var consumer: String
        /// How many times it has been delivered (1 on the first delivery).
        public var deliveries: UInt64
        public var streamSequence: UInt64
        public var consumerSequence: UInt64
        /// Store time, nanoseconds since the Unix epoch.
        public var timeNanoseconds: Int64
        /// Messages still pending for the consumer after this one.
        public var pending: UInt64
    }

    public let message: NATSMessage
    public let metadata: Metadata
    let client: NATSClient

    public var subject: String { message.subject }
    public var headers: NATSHeaders? { message.headers }
    public var payload: ByteBuffer { message.payload }

    init?(_ message: NATSMessage, client: NATSClient) {
        guard let reply = message.replyTo, let metadata = Metadata(replySubject: reply) else { return nil }
        self.message = message
        self.metadata = metadata
        self.client = client
    }

    /// Done with it: the server will not redeliver.
    public func ack() throws { try respond("+ACK") }

    /// Acknowledges and waits for the server to confirm it recorded the ack.
    nonisolated(nonsending) public func ackSync(timeout: TimeAmount = .seconds(5)) async throws {
        guard let reply = message.replyTo else { throw notAcknowledgeable }
        _ = try await client.request(reply, "+ACK", timeout: timeout)
    }

    /// Not now: redeliver, after `delay` when given.
    public func nak(delay: TimeAmount? = nil) throws {
        if let delay {
            try respond("-NAK {\"delay\":\(delay.nanoseconds)}")
        } else {
            try respond("-NAK")
        }
    }

    /// Never: the server stops delivering it.
    public func term() throws { try respond("+TERM") }

    /// Still working: resets the ack-wait timer.
    public func inProgress() throws { try respond("+WPI") }

    private var notAcknowledgeable: JetStreamError {
        JetStreamError(.notAcknowledgeable, "message on '\(message.subject)' has no JetStream reply subject")
    }

    private func respond(_ body: String) throws {
        guard let reply = message.replyTo else { throw notAcknowledgeable }
        try client.publish(reply, body)
    }
}

extension JetStreamMessage.Metadata {
    /// Parses `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>` and the newer form
    /// `$JS.ACK.<domain>.<account>.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>.<token>`.
    public init?(replySubject: String) {
        let tokens = replySubject.split(separator: ".", omittingEmptySubsequences: false)
        guard tokens.count >= 9, tokens[0] == "$JS", tokens[1] == "ACK" else { return nil }
        let base: Int
        if tokens.count == 9 {
            base = 2
            domain = nil
        } else if tokens.count >= 11 {
            base = 4
            domain = tokens[2] == "_" ? nil : String(tokens[2])
        } else {
            return nil
        }
        guard let deliveries = UInt64(tokens[base + 2]), let streamSequence = UInt64(tokens[base + 3]),
              let consumerSequence = UInt64(tokens[base + 4]), let time = Int64(tokens[base + 5]),
              let pending = UInt64(tokens[base + 6])
        else { return nil }
        stream = String(tokens[base])
        consumer = String(tokens[base + 1])
        self.deliveries = deliveries
        self.streamSequence = streamSequence
        self.consumerSequence = consumerSequence
        timeNanoseconds = time
        self.pending = pending
    }
}

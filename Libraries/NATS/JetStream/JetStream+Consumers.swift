import NIOCore

extension JetStream {
    /// Creates (or, same config, re-opens) a consumer: durable when `config.durableName` is set, else ephemeral.
    nonisolated(nonsending) public func createConsumer(stream: String, _ config: ConsumerConfiguration) async throws -> ConsumerInfo {
        try JetStreamNames.validate(stream, what: "stream")
        let request = CreateConsumerRequest(stream: stream, config: config)
        if let durable = config.durableName {
            try JetStreamNames.validate(durable, what: "consumer")
            return try await apiRequest("CONSUMER.DURABLE.CREATE.\(stream).\(durable)", json: request, as: ConsumerInfo.self)
        }
        return try await apiRequest("CONSUMER.CREATE.\(stream)", json: request, as: ConsumerInfo.self)
    }

    /// A consumer's configuration and progress; 10014 when it does not exist.
    nonisolated(nonsending) public func consumerInfo(stream: String, name: String) async throws -> ConsumerInfo {
        try JetStreamNames.validate(stream, what: "stream")
        try JetStreamNames.validate(name, what: "consumer")
        return try await apiRequest("CONSUMER.INFO.\(stream).\(name)", as: ConsumerInfo.self)
    }

    nonisolated(nonsending) public func deleteConsumer(stream: String, name: String) async throws {
        try JetStreamNames.validate(stream, what: "stream")
        try JetStreamNames.validate(name, what: "consumer")
        _ = try await apiRequest("CONSUMER.DELETE.\(stream).\(name)", as: APISuccessResponse.self)
    }

    /// Pulls up to `batch` messages from a pull consumer. Returns at once with what is waiting; when
    /// nothing is, waits up to `expires` for the first messages. Status replies (404 no messages,
    /// 408 request expired, 100 heartbeats) end or extend the wait and never reach the caller;
    /// 409 (consumer deleted, too many waiting pulls) is an error when nothing was received.
    nonisolated(nonsending) public func fetch(
        stream: String, consumer: String, batch: Int, expires: TimeAmount = .seconds(5)
    ) async throws -> [JetStreamMessage] {
        try JetStreamNames.validate(stream, what: "stream")
        try JetStreamNames.validate(consumer, what: "consumer")
        precondition(batch > 0, "fetch batch must be positive")
        let inbox = client.newInbox()
        let subscription = try client.subscribe(inbox)
        defer { try? subscription.unsubscribe() }
        let api = "\(prefix).CONSUMER.MSG.NEXT.\(stream).\(consumer)"
        // A client-side deadline in case every status reply is lost (the server sends 408 at `expires`).
        let deadline = client.eventLoop.scheduleTask(in: expires + .seconds(2)) { try? subscription.unsubscribe() }
        defer { deadline.cancel() }

        var received: [JetStreamMessage] = []
        try client.publish(api, payload: try Self.encode(PullRequest(batch: batch, expires: nil, noWait: true)), replyTo: inbox)
        var waiting = false
        var iterator = subscription.makeAsyncIterator()
        while received.count < batch, let message = try await iterator.next() {
            switch message.status {
            case nil:
                if let delivered = JetStreamMessage(message, client: client) { received.append(delivered) }
            case 100?:
                continue
            case 404?, 408?:
                // The immediate pull found too little; wait for the first messages if there were none.
                if !received.isEmpty || waiting { return received }
                waiting = true
                let request = PullRequest(batch: batch, expires: expires.nanoseconds, noWait: nil)
                try client.publish(api, payload: try Self.encode(request), replyTo: inbox)
            case let status?:
                if !received.isEmpty { return received }
                throw JetStreamError(.api, message.headers?.statusDescription ?? "pull failed", status: Int(status))
            }
        }
        return received
    }
}

private struct CreateConsumerRequest: Encodable {
    var stream: String
    var config: ConsumerConfiguration

    enum CodingKeys: String, CodingKey {
        case stream = "stream_name"
        case config
    }
}

private struct PullRequest: Encodable {
    var batch: Int
    var expires: Int64?
    var noWait: Bool?

    enum CodingKeys: String, CodingKey {
        case batch, expires
        case noWait = "no_wait"
    }
}

import NATS
import NIOCore

/// Reads what a stream holds now through an ordered consumer, with a deadline: messages that age
/// out (max age) between the consumer's creation and their delivery can leave the last one never
/// delivered, and a request must not wait for it forever.
enum StreamReading {
    /// The reading did not reach the stream's end within its timeout (answered 503 XYW004).
    struct Timeout: Error, CustomStringConvertible {
        var stream: String
        var description: String { "reading \(stream) did not reach its end in time" }
    }

    /// Every payload on `filter` (all subjects when nil) from where `deliver` starts, oldest
    /// first, up to the stream's end as delivery finds it.
    static func payloads(
        _ jetStream: JetStream, stream: String, filter: String? = nil, deliver: ConsumerConfiguration.DeliverPolicy = .all,
        timeout: Duration = .seconds(10)
    ) async throws -> [ByteBuffer] {
        let consumer = try await jetStream.orderedConsumer(stream: stream, OrderedConsumerConfiguration(filterSubject: filter, deliverPolicy: deliver))
        defer { consumer.stop() }
        guard consumer.initialPending > 0 else { return [] }
        return try await withThrowingTaskGroup(of: [ByteBuffer]?.self) { group in
            group.addTask {
                var payloads: [ByteBuffer] = []
                for try await message in consumer {
                    payloads.append(message.payload)
                    if message.metadata.pending == 0 { break }
                }
                return payloads
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            let first = try await group.next() ?? nil
            // Ends the reader's sequence too, so the group never waits on it.
            consumer.stop()
            group.cancelAll()
            guard let payloads = first else { throw Timeout(stream: stream) }
            return payloads
        }
    }
}

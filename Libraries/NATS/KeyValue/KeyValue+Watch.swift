import NIOConcurrencyHelpers
import NIOCore

/// Watches keys: first the current value of each matching key, then `.initialValuesDone`, then
/// every change as it happens. An ordered consumer underneath, so a restart loses and repeats nothing.
public final class KeyValueWatcher: AsyncSequence, Sendable {
    public typealias Element = KeyValueWatchEvent

    let keyValue: KeyValue
    let consumer: JetStreamOrderedConsumer
    let ignoreDeletes: Bool
    /// Whether the marker was given, and whether it is due; kept here so successive iterators share it.
    private let marker: NIOLockedValueBox<(given: Bool, due: Bool)>

    init(keyValue: KeyValue, consumer: JetStreamOrderedConsumer, ignoreDeletes: Bool) {
        self.keyValue = keyValue
        self.consumer = consumer
        self.ignoreDeletes = ignoreDeletes
        self.marker = NIOLockedValueBox((given: false, due: consumer.initialPending == 0))
    }

    /// Ends the watch.
    public func stop() { consumer.stop() }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(watcher: self, base: consumer.makeAsyncIterator())
    }

    /// True once, when the marker is due and not yet given.
    fileprivate func takeMarker() -> Bool {
        marker.withLockedValue { state in
            guard state.due, !state.given else { return false }
            state.given = true
            return true
        }
    }

    /// Called for each entry: the first with no more pending ends the initial values.
    fileprivate func noteEntry(delta: UInt64) {
        marker.withLockedValue { state in
            if !state.given, delta == 0 { state.due = true }
        }
    }

    /// Emits the marker before the first live update (at once when there were no values).
    public struct AsyncIterator: AsyncIteratorProtocol {
        let watcher: KeyValueWatcher
        var base: JetStreamOrderedConsumer.AsyncIterator

        public mutating func next() async throws -> KeyValueWatchEvent? {
            while true {
                if watcher.takeMarker() { return .initialValuesDone }
                guard let message = try await base.next() else { return nil }
                guard let entry = watcher.keyValue.makeEntry(message) else { continue }
                watcher.noteEntry(delta: entry.delta)
                if watcher.ignoreDeletes, entry.operation != .put { continue }
                return .entry(entry)
            }
        }
    }
}

extension KeyValue {
    /// Watches keys matching `keys` (`*` and `>` allowed; default every key). `includeHistory`
    /// replays every kept revision instead of only the current values.
    nonisolated(nonsending) public func watch(
        keys: String = ">", includeHistory: Bool = false, ignoreDeletes: Bool = false,
        heartbeat: TimeAmount = .seconds(5)
    ) async throws -> KeyValueWatcher {
        try KeyValueNames.validateKey(keys, wildcards: true)
        var configuration = OrderedConsumerConfiguration(
            filterSubject: subjectPrefix + keys, deliverPolicy: includeHistory ? .all : .lastPerSubject
        )
        configuration.heartbeat = heartbeat
        let consumer = try await jetStream.orderedConsumer(stream: streamName, configuration)
        return KeyValueWatcher(keyValue: self, consumer: consumer, ignoreDeletes: ignoreDeletes)
    }
}

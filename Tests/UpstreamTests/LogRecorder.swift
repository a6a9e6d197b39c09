import Logging
import NIOConcurrencyHelpers

/// Every log line of the loggers it makes, for tests to read back.
final class LogRecorder: Sendable {
    struct Entry: Sendable {
        let level: Logger.Level
        let message: String
        /// Metadata values as their descriptions.
        let metadata: [String: String]
    }

    private let recorded = NIOLockedValueBox<[Entry]>([])

    var entries: [Entry] { recorded.withLockedValue { $0 } }

    func contains(_ predicate: (Entry) -> Bool) -> Bool {
        entries.contains(where: predicate)
    }

    /// A logger at debug level that records into this recorder.
    func logger(_ label: String) -> Logger {
        var logger = Logger(label: label) { _ in Handler(recorder: self) }
        logger.logLevel = .debug
        return logger
    }

    fileprivate func append(_ entry: Entry) {
        recorded.withLockedValue { $0.append(entry) }
    }

    private struct Handler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            recorder.append(Entry(level: event.level, message: event.message.description, metadata: merged.mapValues { $0.description }))
        }
    }
}

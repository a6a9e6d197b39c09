import Logging
import XYCore

/// A swift-log handler that writes one JSON object per line:
/// `{"ts":"2026-01-02T03:04:05.678Z","level":"info","service":"xy-realtime","code":"XYW101","msg":"…",…metadata}`.
///
/// The `code` field comes from the `code` metadata key (an ``XYErrorCode``), so log pipelines
/// can alert on it; everything that goes out passes through a ``SecretRedactor`` first.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    public var metadataProvider: Logger.MetadataProvider?

    private let label: String
    private let service: String
    private let redactor: SecretRedactor
    private let sink: JSONLogSink

    /// - Parameters:
    ///   - sink: where lines go; standard output unless a test captures them.
    public init(label: String, service: String, level: Logger.Level, redactor: SecretRedactor, sink: JSONLogSink = .standardOutput) {
        self.label = label
        self.service = service
        self.logLevel = level
        self.redactor = redactor
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() {
            merged.merge(provided) { _, new in new }
        }
        if let extra = event.metadata {
            merged.merge(extra) { _, new in new }
        }
        sink.write(line(level: event.level, message: event.message.description, metadata: merged, source: event.source))
    }

    /// One rendered line (without the newline); internal so tests can check the shape.
    func line(level: Logger.Level, message: String, metadata: Logger.Metadata, source: String) -> String {
        var out = "{\"ts\":"
        JSONText.appendString(ISO8601.string(nanoseconds: wallClockNanoseconds()), to: &out)
        out += ",\"level\":"
        JSONText.appendString(level.rawValue, to: &out)
        out += ",\"service\":"
        JSONText.appendString(service, to: &out)
        out += ",\"code\":"
        if let code = metadata["code"] {
            JSONText.appendString(redactor.redact(code.description), to: &out)
        } else {
            out += "null"
        }
        out += ",\"msg\":"
        JSONText.appendString(redactor.redact(message), to: &out)
        out += ",\"logger\":"
        JSONText.appendString(label, to: &out)
        appendMembers(metadata, skipping: "code", to: &out)
        out += "}"
        return out
    }

    private func appendValue(_ value: Logger.Metadata.Value, to out: inout String) {
        switch value {
        case .string(let text):
            JSONText.appendString(redactor.redact(text), to: &out)
        case .stringConvertible(let convertible):
            JSONText.appendString(redactor.redact(convertible.description), to: &out)
        case .array(let values):
            out += "["
            for (index, element) in values.enumerated() {
                if index > 0 { out += "," }
                appendValue(element, to: &out)
            }
            out += "]"
        case .dictionary(let dictionary):
            out += "{"
            appendMembers(dictionary, leadingComma: false, to: &out)
            out += "}"
        }
    }

    /// `,"key":value` per member in key order; values of keys that name a secret are masked.
    private func appendMembers(_ members: Logger.Metadata, skipping skipped: String? = nil, leadingComma: Bool = true, to out: inout String) {
        var first = !leadingComma
        for key in members.keys.sorted() where key != skipped {
            if !first { out += "," }
            first = false
            JSONText.appendString(key, to: &out)
            out += ":"
            if SecretRedactor.isSecretKey(key) {
                JSONText.appendString(SecretRedactor.mask, to: &out)
            } else if let value = members[key] {
                appendValue(value, to: &out)
            }
        }
    }
}

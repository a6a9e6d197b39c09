import NIOCore

/// A key-value bucket on JetStream: the newest message per subject `$KV.<bucket>.<key>` is the key's
/// value, its stream sequence the revision that compare-and-set uses.
public struct KeyValue: Sendable {
    static let operationHeader = "KV-Operation"

    public let bucket: String
    public let jetStream: JetStream
    let streamName: String
    let subjectPrefix: String
    let allowDirect: Bool

    init(jetStream: JetStream, bucket: String, allowDirect: Bool) {
        self.jetStream = jetStream
        self.bucket = bucket
        self.streamName = Self.streamName(bucket)
        self.subjectPrefix = "$KV.\(bucket)."
        self.allowDirect = allowDirect
    }

    static func streamName(_ bucket: String) -> String { "KV_\(bucket)" }

    /// The current value, nil when the key was never set or its last revision is a delete or purge.
    nonisolated(nonsending) public func get(_ key: String) async throws -> KeyValueEntry? {
        guard let entry = try await entry(key), entry.operation == .put else { return nil }
        return entry
    }

    /// The key's value at `revision`, nil when that revision belongs to another key or no longer exists.
    nonisolated(nonsending) public func get(_ key: String, revision: UInt64) async throws -> KeyValueEntry? {
        try KeyValueNames.validateKey(key)
        do {
            let stored = try await jetStream.getMessage(stream: streamName, sequence: revision, direct: allowDirect)
            guard stored.subject == subjectPrefix + key else { return nil }
            let entry = makeEntry(stored, key: key)
            return entry.operation == .put ? entry : nil
        } catch let error as JetStreamError where error.errorCode == .noMessageFound {
            return nil
        }
    }

    /// The last revision of a key whatever it did (put, delete or purge marker).
    nonisolated(nonsending) func entry(_ key: String) async throws -> KeyValueEntry? {
        try KeyValueNames.validateKey(key)
        do {
            let stored = try await jetStream.getLastMessage(stream: streamName, subject: subjectPrefix + key, direct: allowDirect)
            return makeEntry(stored, key: key)
        } catch let error as JetStreamError where error.errorCode == .noMessageFound {
            return nil
        }
    }

    /// Sets a value; returns its revision.
    @discardableResult
    nonisolated(nonsending) public func put(_ key: String, _ value: ByteBuffer) async throws -> UInt64 {
        try KeyValueNames.validateKey(key)
        return try await jetStream.publish(subjectPrefix + key, payload: value).sequence
    }

    @discardableResult
    nonisolated(nonsending) public func put(_ key: String, _ value: String) async throws -> UInt64 {
        try await put(key, ByteBuffer(string: value))
    }

    /// Sets a value only if the key has none (never set, deleted or purged); `keyExists` otherwise.
    @discardableResult
    nonisolated(nonsending) public func create(_ key: String, _ value: ByteBuffer) async throws -> UInt64 {
        do {
            return try await update(key, value, revision: 0)
        } catch let error as JetStreamError where error.errorCode == .streamWrongLastSequence {
            // A delete or purge marker is the last revision: the key is absent, so replace the marker.
            if let marker = try await entry(key), marker.operation != .put {
                return try await update(key, value, revision: marker.revision)
            }
            throw JetStreamError(.keyExists, "key '\(key)' already exists in bucket '\(bucket)'", status: error.status, errorCode: error.errorCode)
        }
    }

    /// Sets a value only if the key's last revision is still `revision` (compare-and-set); a
    /// concurrent writer makes it fail with `streamWrongLastSequence` (10071).
    @discardableResult
    nonisolated(nonsending) public func update(_ key: String, _ value: ByteBuffer, revision: UInt64) async throws -> UInt64 {
        try KeyValueNames.validateKey(key)
        let options = JetStreamPublishOptions(expectedLastSubjectSequence: revision)
        return try await jetStream.publish(subjectPrefix + key, payload: value, options: options).sequence
    }

    /// Marks the key deleted (history kept); `get` returns nil afterwards.
    nonisolated(nonsending) public func delete(_ key: String) async throws {
        try KeyValueNames.validateKey(key)
        _ = try await jetStream.publish(subjectPrefix + key, payload: ByteBuffer(), headers: [Self.operationHeader: "DEL"])
    }

    /// Deletes the key and every earlier revision (a rollup leaves one purge marker).
    nonisolated(nonsending) public func purge(_ key: String) async throws {
        try KeyValueNames.validateKey(key)
        let headers: NATSHeaders = [Self.operationHeader: "PURGE", JetStreamHeader.rollup: "sub"]
        _ = try await jetStream.publish(subjectPrefix + key, payload: ByteBuffer(), headers: headers)
    }

    /// Every key that currently has a value.
    nonisolated(nonsending) public func keys() async throws -> [String] {
        var configuration = OrderedConsumerConfiguration(filterSubject: subjectPrefix + ">", deliverPolicy: .lastPerSubject)
        configuration.headersOnly = true
        var keys: [String] = []
        for entry in try await readToEnd(configuration) where entry.operation == .put {
            keys.append(entry.key)
        }
        return keys
    }

    /// Every kept revision of a key, oldest first (markers included).
    nonisolated(nonsending) public func history(_ key: String) async throws -> [KeyValueEntry] {
        try KeyValueNames.validateKey(key)
        return try await readToEnd(OrderedConsumerConfiguration(filterSubject: subjectPrefix + key, deliverPolicy: .all))
    }

    /// Reads what an ordered consumer has pending now, then stops.
    nonisolated(nonsending) private func readToEnd(_ configuration: OrderedConsumerConfiguration) async throws -> [KeyValueEntry] {
        let consumer = try await jetStream.orderedConsumer(stream: streamName, configuration)
        defer { consumer.stop() }
        guard consumer.initialPending > 0 else { return [] }
        var entries: [KeyValueEntry] = []
        for try await message in consumer {
            if let entry = makeEntry(message) { entries.append(entry) }
            if message.metadata.pending == 0 { break }
        }
        return entries
    }

    func makeEntry(_ stored: JetStreamStoredMessage, key: String) -> KeyValueEntry {
        KeyValueEntry(
            bucket: bucket, key: key, value: stored.payload, revision: stored.sequence,
            timeNanoseconds: stored.timeNanoseconds, delta: 0, operation: KeyValueEntry.operation(from: stored.headers)
        )
    }

    func makeEntry(_ message: JetStreamMessage) -> KeyValueEntry? {
        guard message.subject.hasPrefix(subjectPrefix) else { return nil }
        return KeyValueEntry(
            bucket: bucket, key: String(message.subject.dropFirst(subjectPrefix.count)), value: message.payload,
            revision: message.metadata.streamSequence, timeNanoseconds: message.metadata.timeNanoseconds,
            delta: message.metadata.pending, operation: KeyValueEntry.operation(from: message.headers)
        )
    }
}

extension JetStream {
    /// Creates a bucket, or updates its settings when it exists.
    nonisolated(nonsending) public func createKeyValue(_ configuration: KeyValueConfiguration) async throws -> KeyValue {
        try KeyValueNames.validateBucket(configuration.bucket)
        guard (1...64).contains(configuration.history) else {
            throw JetStreamError(.invalidName, "history must be between 1 and 64, not \(configuration.history)")
        }
        let info = try await createOrUpdateStream(configuration.streamConfiguration)
        return KeyValue(jetStream: self, bucket: configuration.bucket, allowDirect: info.config.allowDirect)
    }

    /// Opens an existing bucket; `bucketNotFound` when there is none.
    nonisolated(nonsending) public func keyValue(_ bucket: String) async throws -> KeyValue {
        try KeyValueNames.validateBucket(bucket)
        do {
            let info = try await streamInfo(KeyValue.streamName(bucket))
            return KeyValue(jetStream: self, bucket: bucket, allowDirect: info.config.allowDirect)
        } catch let error as JetStreamError where error.errorCode == .streamNotFound {
            throw JetStreamError(.bucketNotFound, "no key-value bucket '\(bucket)'", status: error.status, errorCode: error.errorCode)
        }
    }

    /// Deletes a bucket and all its values.
    nonisolated(nonsending) public func deleteKeyValue(_ bucket: String) async throws {
        try KeyValueNames.validateBucket(bucket)
        try await deleteStream(KeyValue.streamName(bucket))
    }
}

/// Bucket and key naming rules every NATS client applies, so no name breaks the subject grammar.
public enum KeyValueNames {
    /// Letters, digits, `-` and `_`.
    public static func isValidBucket(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }
    }

    /// Letters, digits and `-/_=.`; dot-separated tokens, none empty. `wildcards` admits `*` and a final `>` (watch patterns).
    public static func isValidKey(_ key: String, wildcards: Bool = false) -> Bool {
        guard !key.isEmpty else { return false }
        let tokens = key.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        for (index, token) in tokens.enumerated() {
            guard !token.isEmpty else { return false }
            if wildcards, token.count == 1 {
                if token.first == UInt8(ascii: "*") { continue }
                if token.first == UInt8(ascii: ">") {
                    guard index == tokens.count - 1 else { return false }
                    continue
                }
            }
            let valid = token.allSatisfy {
                isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "_")
                    || $0 == UInt8(ascii: "=")
            }
            guard valid else { return false }
        }
        return true
    }

    static func validateBucket(_ name: String) throws {
        guard isValidBucket(name) else {
            throw JetStreamError(.invalidName, "invalid bucket name '\(name)': letters, digits, '-' and '_' only")
        }
    }

    static func validateKey(_ key: String, wildcards: Bool = false) throws {
        guard isValidKey(key, wildcards: wildcards) else {
            throw JetStreamError(.invalidName, "invalid key '\(key)': letters, digits and '-/_=.' in non-empty dot-separated tokens")
        }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122)
    }
}

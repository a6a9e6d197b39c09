import Foundation
import Logging
import NATS
import NIOCore
import SwiftProtobuf
import XYContracts
import XYCore

/// The feature flags behind `/admin/feature-flags`: one `xy.flags.v1.FeatureFlag` per key in the
/// bucket `xy_feature_flags` (which every service may watch), and one
/// `xy.flags.v1.FeatureFlagChange` per change on `xy.audit.flags.<flag>` in the stream
/// `XY_FLAG_AUDIT` (the last FLAG_HISTORY_MAX per flag), so who changed what, and when, outlives
/// the flag itself. Refusals are ``APIFailure``s.
///
/// A change is a compare-and-set on the key's revision (two admins cannot both replace the same
/// value unseen), then the audit record; if storing the record fails the caller gets 503 XYW004
/// and the error log carries the whole record, so no change goes unrecorded silently.
struct FeatureFlags: Sendable {
    static let auditStream = "XY_FLAG_AUDIT"
    static let auditPrefix = "xy.audit.flags."
    /// The longest `string_value`, in UTF-8 bytes.
    static let stringMaximum = 1024

    let bucket: KeyValue
    let jetStream: JetStream
    let logger: Logger
    let now: @Sendable () -> Date

    /// Creates (or updates) the bucket and the audit stream.
    static func open(jetStream: JetStream, configuration: AdminConfiguration, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }) async throws -> FeatureFlags {
        var settings = KeyValueConfiguration(bucket: Subjects.featureFlagBucket)
        settings.description = "xy feature flags (xy.flags.v1.FeatureFlag), set through xy-admin"
        settings.replicas = configuration.streamReplicas
        let bucket = try await jetStream.createKeyValue(settings)
        var audit = StreamConfiguration(name: auditStream, subjects: [auditPrefix + "*"])
        audit.description = "xy-admin: every feature flag change (xy.flags.v1.FeatureFlagChange)"
        audit.maxMessagesPerSubject = Int64(configuration.flagHistoryMaximum)
        audit.replicas = configuration.streamReplicas
        _ = try await jetStream.createOrUpdateStream(audit)
        return FeatureFlags(bucket: bucket, jetStream: jetStream, logger: logger, now: now)
    }

    /// The name as a key and subject token, or XYA041.
    static func checkName(_ name: String) throws(APIFailure) -> String {
        do {
            return try SubjectToken.flagName(name)
        } catch {
            throw APIFailure(.badRequest, .invalidFlagName, "a flag name is 1 to 64 characters of A-Z, a-z, 0-9, '_' and '-'")
        }
    }

    /// Every flag, by name: the last revision of every key in one pass (a deleted key's last
    /// revision is an empty marker, which holds no value and is left out).
    func list() async throws -> [Xy_Flags_V1_FeatureFlag] {
        let payloads = try await StreamReading.payloads(
            jetStream, stream: "KV_" + Subjects.featureFlagBucket, filter: "$KV.\(Subjects.featureFlagBucket).>", deliver: .lastPerSubject)
        return payloads.compactMap { payload in
            guard let flag = try? Xy_Flags_V1_FeatureFlag(serializedBytes: Array(buffer: payload)), flag.value != nil else { return nil }
            return flag
        }.sorted { $0.name < $1.name }
    }

    /// The flag, or XYA045.
    func get(_ name: String) async throws -> Xy_Flags_V1_FeatureFlag {
        let key = try Self.checkName(name)
        guard let (flag, _) = try await read(key) else { throw Self.notFound(key) }
        return flag
    }

    /// Sets `value` (XYA042–044 when it is not acceptable) and records the change; setting the
    /// value a flag already has changes and records nothing.
    func put(_ name: String, value: Xy_Flags_V1_FeatureFlag.OneOf_Value?, by admin: String) async throws -> Xy_Flags_V1_FeatureFlag {
        let key = try Self.checkName(name)
        guard let value else {
            throw APIFailure(.badRequest, .invalidFlagValue, "a flag value is exactly one of bool_value, int_value, double_value and string_value")
        }
        if case .stringValue(let text) = value, text.utf8.count > Self.stringMaximum {
            throw APIFailure(.badRequest, .flagStringTooLong, "string_value is longer than \(Self.stringMaximum) bytes")
        }
        for _ in 0..<8 {
            let current = try await read(key)
            if let old = current?.0 {
                guard Self.sameType(old.value, value) else {
                    throw APIFailure(.conflict, .flagTypeChange, "\(key) holds a \(Self.typeName(old.value)); delete it before setting a \(Self.typeName(value))")
                }
                if old.value == value { return old }
            }
            var flag = Xy_Flags_V1_FeatureFlag()
            flag.name = key
            flag.value = value
            flag.updatedBy = admin
            flag.updatedAtNs = now().nanoseconds
            let bytes = ByteBuffer(bytes: try flag.serializedBytes() as [UInt8])
            do {
                if let (_, revision) = current {
                    try await bucket.update(key, bytes, revision: revision)
                } else {
                    try await bucket.create(key, bytes)
                }
            } catch let error as JetStreamError where error.errorCode == .streamWrongLastSequence || error.kind == .keyExists {
                continue
            }
            try await record(name: key, old: current?.0, new: flag, by: admin, at: flag.updatedAtNs)
            return flag
        }
        throw APIFailure.unavailable("the flag kept changing; try again")
    }

    /// Deletes the flag (XYA045 when there is none) and records it.
    func delete(_ name: String, by admin: String) async throws {
        let key = try Self.checkName(name)
        for _ in 0..<8 {
            guard let (old, revision) = try await read(key) else { throw Self.notFound(key) }
            do {
                // A delete marker written only while the value is still `old`.
                let options = JetStreamPublishOptions(expectedLastSubjectSequence: revision)
                _ = try await jetStream.publish(
                    "$KV.\(bucket.bucket).\(key)", payload: ByteBuffer(), headers: ["KV-Operation": "DEL"], options: options)
            } catch let error as JetStreamError where error.errorCode == .streamWrongLastSequence {
                continue
            }
            try await record(name: key, old: old, new: nil, by: admin, at: now().nanoseconds)
            return
        }
        throw APIFailure.unavailable("the flag kept changing; try again")
    }

    /// The flag's recorded changes, newest first.
    func history(_ name: String) async throws -> [Xy_Flags_V1_FeatureFlagChange] {
        let key = try Self.checkName(name)
        let payloads = try await StreamReading.payloads(jetStream, stream: Self.auditStream, filter: Self.auditPrefix + key)
        // A record that does not decode (written by something else) is skipped, not fatal.
        return payloads.compactMap { try? Xy_Flags_V1_FeatureFlagChange(serializedBytes: Array(buffer: $0)) }.reversed()
    }

    /// The stored flag and its revision; a value that does not decode counts as absent.
    private func read(_ key: String) async throws -> (Xy_Flags_V1_FeatureFlag, UInt64)? {
        guard let entry = try await bucket.get(key),
            let flag = try? Xy_Flags_V1_FeatureFlag(serializedBytes: Array(buffer: entry.value)), flag.value != nil
        else { return nil }
        return (flag, entry.revision)
    }

    private func record(name: String, old: Xy_Flags_V1_FeatureFlag?, new: Xy_Flags_V1_FeatureFlag?, by admin: String, at time: Int64) async throws {
        var change = Xy_Flags_V1_FeatureFlagChange()
        change.name = name
        if let old { change.old = old }
        if let new { change.new = new }
        change.changedBy = admin
        change.timeNs = time
        let bytes: [UInt8] = try change.serializedBytes()
        let headers: NATSHeaders = [Subjects.schemaHeader: Xy_Flags_V1_FeatureFlagChange.protoMessageName]
        do {
            _ = try await jetStream.publish(Self.auditPrefix + name, payload: ByteBuffer(bytes: bytes), headers: headers)
        } catch {
            let text = (try? change.jsonString()) ?? name
            logger.error("feature flag changed but its audit record was not stored", metadata: [
                "code": "\(XYErrorCode.natsUnavailable)", "record": "\(text)", "error": "\(error)",
            ])
            throw APIFailure.unavailable("the flag changed but its audit record could not be stored; the error log holds it")
        }
    }

    static func notFound(_ key: String) -> APIFailure {
        APIFailure(.notFound, .flagNotFound, "no flag named \(key)")
    }

    static func sameType(_ a: Xy_Flags_V1_FeatureFlag.OneOf_Value?, _ b: Xy_Flags_V1_FeatureFlag.OneOf_Value) -> Bool {
        typeName(a) == typeName(b)
    }

    /// The document's `type` of a value.
    static func typeName(_ value: Xy_Flags_V1_FeatureFlag.OneOf_Value?) -> String {
        switch value {
        case .boolValue?: "bool"
        case .intValue?: "int"
        case .doubleValue?: "double"
        case .stringValue?: "string"
        case nil: "none"
        }
    }
}

extension Date {
    /// Nanoseconds since the Unix epoch.
    var nanoseconds: Int64 { Int64((timeIntervalSince1970 * 1_000_000_000).rounded(.down)) }

    /// The date of a `*_ns` contract field.
    init(nanoseconds: Int64) {
        self.init(timeIntervalSince1970: Double(nanoseconds) / 1_000_000_000)
    }
}

extension XYErrorCode {
    /// Not a flag name (1–64 of A–Z, a–z, 0–9, `_`, `-`).
    public static let invalidFlagName = XYErrorCode(rawValue: "XYA041")
    /// The PUT body holds no value or more than one.
    public static let invalidFlagValue = XYErrorCode(rawValue: "XYA042")
    /// `string_value` is longer than 1024 bytes.
    public static let flagStringTooLong = XYErrorCode(rawValue: "XYA043")
    /// The value would change the flag's type (services read flags typed): delete it first.
    public static let flagTypeChange = XYErrorCode(rawValue: "XYA044")
    /// No flag of that name.
    public static let flagNotFound = XYErrorCode(rawValue: "XYA045")
    /// `/admin/sessions`' `limit` is not 1 to 10000.
    public static let invalidSessionLimit = XYErrorCode(rawValue: "XYA046")
}

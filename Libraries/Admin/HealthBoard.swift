import Foundation
import NATS
import NIOConcurrencyHelpers
import SwiftProtobuf
import XYContracts

/// The latest `xy.exec.health` heartbeat of every service instance, as this copy of xy-admin has
/// heard them since it started (`observedSince`): the table behind `/admin/health`.
///
/// Kept in memory rather than in a stream: heartbeats share one subject, so a stream could not
/// keep one message per instance, and a table rebuilt within one heartbeat interval is all an
/// operator needs. A fresh copy therefore lists, during its first interval, only the instances
/// whose heartbeat it has heard so far (`observed_since` tells the reader). Staleness is judged on
/// this copy's clock (when it received the beat), so the senders' clocks do not matter.
final class HealthBoard: Sendable {
    /// What a heartbeat without `interval_ns` (an older sender) is assumed to use: HEALTH_INTERVAL's default.
    static let defaultInterval: Int64 = 5_000_000_000
    /// Missed intervals after which an instance is stale.
    static let staleIntervals: Int64 = 3

    /// One instance's latest heartbeat and when it arrived.
    struct Entry: Sendable {
        var health: Xy_Exec_V1_Health
        var receivedNanoseconds: Int64

        /// The instance's heartbeat period.
        var intervalNanoseconds: Int64 { health.intervalNs > 0 ? health.intervalNs : HealthBoard.defaultInterval }

        /// No heartbeat for three intervals at `now`.
        func isStale(now: Int64) -> Bool {
            now - receivedNanoseconds > HealthBoard.staleIntervals * intervalNanoseconds
        }
    }

    private struct Key: Hashable {
        var service: String
        var instance: String
    }

    private let entries = NIOLockedValueBox<[Key: Entry]>([:])
    private let forgetNanoseconds: Int64
    private let clock: @Sendable () -> Int64
    let observedSinceNanoseconds: Int64

    /// - Parameters:
    ///   - forget: how long an instance that went silent stays listed (HEALTH_FORGET).
    ///   - clock: nanoseconds since the Unix epoch.
    init(forget: Duration, clock: @escaping @Sendable () -> Int64 = { Date().nanoseconds }) {
        self.forgetNanoseconds = forget.nanosecondCount
        self.clock = clock
        self.observedSinceNanoseconds = clock()
    }

    /// Subscribes to `xy.exec.health`; each message is recorded on the connection's event loop.
    func listen(on client: NATSClient) throws -> NATSSubscription {
        try client.subscribe(Subjects.health) { [self] message in
            record(Array(buffer: message.payload))
        }
    }

    /// Records one heartbeat's bytes; one that does not decode or names no instance is ignored
    /// (a peer's bad message never reaches the table).
    func record(_ bytes: [UInt8]) {
        guard let health = try? Xy_Exec_V1_Health(serializedBytes: bytes), !health.service.isEmpty, !health.instance.isEmpty else { return }
        let now = clock()
        let forget = forgetNanoseconds
        entries.withLockedValue { table in
            table[Key(service: health.service, instance: health.instance)] = Entry(health: health, receivedNanoseconds: now)
            table = table.filter { now - $0.value.receivedNanoseconds <= forget }
        }
    }

    /// Every instance heard within HEALTH_FORGET, by service then instance.
    func instances() -> [Entry] {
        let now = clock()
        let forget = forgetNanoseconds
        return entries.withLockedValue { table in
            table.values.filter { now - $0.receivedNanoseconds <= forget }
        }.sorted { ($0.health.service, $0.health.instance) < ($1.health.service, $1.health.instance) }
    }

    /// Now on the board's clock.
    var now: Int64 { clock() }
}

/// Every NATS subject xy uses, built in one place so no service spells a subject by hand and no
/// unchecked text (a symbol from a vendor, a group from a browser) ever becomes a subject token.
///
/// The table is in ARCHITECTURE.md ("Subjects"); each helper names the payload it carries.
public enum Subjects {
    /// `xy.md.`: every market-data subject (what the gateway lets clients near by default).
    public static let marketDataPrefix = "xy.md."

    /// `xy.md.event.`, the family of ``event(symbol:)``.
    public static let eventPrefix = marketDataPrefix + "event."

    /// `xy.md.event.<SYMBOL>`: one `xy.md.v1.MarketEvent`, realtime → aggregator.
    public static func event(symbol: String) throws(SubjectTokenError) -> String {
        eventPrefix + (try SubjectToken.symbol(symbol))
    }

    /// Every market event, whatever the symbol (symbol tokens never contain a dot).
    public static let allEvents = eventPrefix + "*"

    /// `xy.md.tick.`, the family of ``tick(group:)``: a subscriber tells the family by this prefix.
    public static let tickPrefix = marketDataPrefix + "tick."

    /// `xy.md.tick.<GROUP>`: one `xy.md.v1.TickBatch`, aggregator → gateway and `XY_TICKS`.
    public static func tick(group: String) throws(SubjectTokenError) -> String {
        tickPrefix + (try SubjectToken.group(group))
    }

    /// Every group's tick batches.
    public static let allTicks = tickPrefix + "*"

    /// `xy.md.snapshot.`, the family of ``snapshot(group:)`` (and of the requests below it).
    public static let snapshotPrefix = marketDataPrefix + "snapshot."

    /// `xy.md.snapshot.<GROUP>`: one `xy.md.v1.Snapshot`, published every few seconds.
    public static func snapshot(group: String) throws(SubjectTokenError) -> String {
        snapshotPrefix + (try SubjectToken.group(group))
    }

    /// `xy.md.snapshot.get.`, the family of ``snapshotRequest(group:)``; it lies under
    /// ``snapshotPrefix``, so a subscriber of snapshots must tell the two apart.
    public static let snapshotRequestPrefix = snapshotPrefix + "get."

    /// `xy.md.snapshot.get.<GROUP>`: request (`SnapshotRequest`) / reply (`Snapshot`) to the aggregator.
    public static func snapshotRequest(group: String) throws(SubjectTokenError) -> String {
        snapshotRequestPrefix + (try SubjectToken.group(group))
    }

    /// The periodic-snapshot subject paired with a tick subject, wildcard or not
    /// (`xy.md.tick.X` → `xy.md.snapshot.X`, `xy.md.tick.*` → `xy.md.snapshot.*`); nil for
    /// anything that is not a tick subject.
    public static func snapshot(forTickSubject subject: String) -> String? {
        guard subject.hasPrefix(tickPrefix) else { return nil }
        return snapshotPrefix + subject.dropFirst(tickPrefix.count)
    }

    /// `xy.md.bar.`, the family of ``bar(symbol:)``.
    public static let barPrefix = marketDataPrefix + "bar."

    /// `xy.md.bar.<SYMBOL>`: one closed `xy.md.v1.Bar`, aggregator → `XY_BARS`.
    public static func bar(symbol: String) throws(SubjectTokenError) -> String {
        barPrefix + (try SubjectToken.symbol(symbol))
    }

    /// Every symbol's bars.
    public static let allBars = barPrefix + "*"

    /// `xy.md.barstate.<GROUP>`: one `xy.md.v1.BarCheckpoint`, the bars the aggregator still holds
    /// for the group's symbols, aggregator → `XY_BAR_STATE` (read back at its next start).
    public static func barState(group: String) throws(SubjectTokenError) -> String {
        "xy.md.barstate." + (try SubjectToken.group(group))
    }

    /// Request/reply: symbols to add to the vendor subscription (gateway, admin → realtime).
    public static let upstreamSubscribe = "xy.ctl.upstream.subscribe"

    /// Request/reply: symbols to drop from the vendor subscription.
    public static let upstreamUnsubscribe = "xy.ctl.upstream.unsubscribe"

    /// `xy.ctl.lease.`, the family of ``lease(instance:)``.
    public static let leasePrefix = "xy.ctl.lease."

    /// `xy.ctl.lease.<INSTANCE>`: one `xy.ctl.v1.SymbolLease`, the symbols a gateway's clients
    /// watch, renewed every interval (gateway → realtime).
    public static func lease(instance: String) throws(SubjectTokenError) -> String {
        leasePrefix + (try SubjectToken.instance(instance))
    }

    /// Every gateway's leases.
    public static let allLeases = leasePrefix + "*"

    /// `xy.ctl.upstream.changed`: one `xy.ctl.v1.UpstreamChange` after each change of the vendor
    /// subscription that leases caused (realtime → aggregator).
    public static let upstreamChanged = "xy.ctl.upstream.changed"

    /// `xy.exec.health`: one `xy.exec.v1.Health` heartbeat from every service instance.
    public static let health = "xy.exec.health"

    /// `xy.session.connected` / `xy.session.disconnected`: one `xy.session.v1.SessionEvent`.
    public static func session(_ kind: Xy_Session_V1_SessionEventKind) throws(SubjectTokenError) -> String {
        switch kind {
        case .connected: "xy.session.connected"
        case .disconnected: "xy.session.disconnected"
        case .unspecified, .UNRECOGNIZED:
            throw SubjectTokenError(.invalidSessionEvent, "a session event subject needs connected or disconnected, not \(kind)")
        }
    }

    /// Every session event.
    public static let allSessions = "xy.session.*"

    /// The JetStream key-value bucket that holds one `xy.flags.v1.FeatureFlag` per key.
    public static let featureFlagBucket = "xy_feature_flags"

    /// `$KV.xy_feature_flags.<flag>`: the subject a flag's value is stored and watched on.
    public static func featureFlag(name: String) throws(SubjectTokenError) -> String {
        "$KV." + featureFlagBucket + "." + (try SubjectToken.flagName(name))
    }

    /// The NATS header that names the Protobuf message a payload holds (`xy.md.v1.TickBatch`).
    public static let schemaHeader = "Xy-Schema"
}

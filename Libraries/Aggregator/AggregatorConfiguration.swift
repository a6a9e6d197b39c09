import NATS
import XYContracts
import XYCore

/// xy-aggregator's own settings (beside `ServiceConfiguration` (XYService)): the groups it knows and owns,
/// the batch and snapshot cadence, the bar grace window and the JetStream limits.
public struct AggregatorConfiguration: Sendable {
    /// A named set of symbols: one `seq`, one `xy.md.tick.<name>` subject.
    public struct Group: Sendable, Hashable {
        public var name: String
        public var symbols: [String]

        public init(name: String, symbols: [String]) {
            self.name = name
            self.symbols = symbols
        }
    }

    /// The configured groups this instance owns (every group of `AGG_GROUPS`, or those `AGG_OWN_GROUPS` names).
    public var groups: [Group]
    /// Where every symbol lives (all of `AGG_GROUPS`, owned or not, and `AGG_DYNAMIC_GROUPS`): a
    /// symbol no configured group names is folded into its dynamic group.
    public var symbolGroups: SymbolGroups
    /// The dynamic groups this instance owns (all of them, or those `AGG_OWN_GROUPS` names).
    public var dynamicGroups: [String]
    /// Period of `xy.md.tick.<group>`.
    public var tickInterval: Duration
    /// Period of `xy.md.snapshot.<group>`, between 2 and 5 s.
    public var snapshotInterval: Duration
    /// How long after its minute a bar still takes late trades.
    public var barGrace: Duration
    /// How far an event may be stamped ahead of its receipt; later ones are refused (`future_time`),
    /// and a restored state or bar checkpoint forgets keys stamped beyond it.
    public var eventFutureSkew: Duration
    /// `XY_TICKS` limits.
    public var ticksMaxAge: Duration
    public var ticksMaxBytes: Int64
    /// `XY_BARS` age limit.
    public var barsMaxAge: Duration
    /// Copies of each stream in a JetStream cluster (1 on a single server, 3 on a three-node cluster).
    public var streamReplicas: Int

    /// The simulator's default symbols (`xy sim polygon` without `--symbols`: its 10 most active names).
    public static let defaultSymbols = ["SPY", "NVDA", "TSLA", "AAPL", "AMD", "AMZN", "QQQ", "MSFT", "META", "PLTR"]
    /// The allowed range of `SNAPSHOT_INTERVAL` (issue 6: every 2–5 s).
    public static let snapshotIntervalRange: ClosedRange<Duration> = .seconds(2) ... .seconds(5)
    /// The allowed range of `TICK_INTERVAL`.
    public static let tickIntervalRange: ClosedRange<Duration> = .milliseconds(5) ... .seconds(1)
    /// The longest `EVENT_FUTURE_SKEW` taken (it must be positive, as every duration variable).
    public static let maximumEventFutureSkew: Duration = .seconds(3600)

    public static let groupsVariable = EnvironmentVariable(
        "AGG_GROUPS", default: "demo=" + defaultSymbols.joined(separator: ","),
        help: "Groups of symbols: name=SYM,SYM;name=SYM,… (one seq and one tick subject per group).")
    public static let ownGroupsVariable = EnvironmentVariable(
        "AGG_OWN_GROUPS",
        help: "Groups this instance owns, comma separated, configured (AGG_GROUPS) or dynamic (dyn-00…); unset means every group.")
    public static let dynamicGroupsVariable = EnvironmentVariable(
        "AGG_DYNAMIC_GROUPS", default: String(SymbolGroups.defaultDynamicCount),
        help: "Dynamic groups (dyn-00…) that symbols no AGG_GROUPS group names are hashed onto (FNV-1a), 1 to 1000; "
            + "every aggregator, gateway and xy-admin must use the same value.")
    public static let tickIntervalVariable = EnvironmentVariable(
        "TICK_INTERVAL", default: "33ms", help: "Period of the tick batches on xy.md.tick.<group> (5ms to 1s).")
    public static let snapshotIntervalVariable = EnvironmentVariable(
        "SNAPSHOT_INTERVAL", default: "3s", help: "Period of the snapshots on xy.md.snapshot.<group> (2s to 5s).")
    public static let barGraceVariable = EnvironmentVariable(
        "BAR_GRACE", default: "5s", help: "How long after its minute a 1-minute bar still takes late trades (under 60s).")
    public static let eventFutureSkewVariable = EnvironmentVariable(
        "EVENT_FUTURE_SKEW", default: "5s",
        help: "How far an event may be stamped ahead of its receipt (up to 1h); later ones are refused and counted "
            + "(xy_md_events_refused_total{reason=\"future_time\"}), so a vendor's bad clock cannot freeze a symbol.")
    public static let ticksMaxAgeVariable = EnvironmentVariable(
        "XY_TICKS_MAX_AGE", default: "24h", help: "Age limit of the XY_TICKS stream (tick batches and snapshots).")
    public static let ticksMaxBytesVariable = EnvironmentVariable(
        "XY_TICKS_MAX_BYTES", default: "1073741824", help: "Size limit of the XY_TICKS stream in bytes.")
    public static let barsMaxAgeVariable = EnvironmentVariable(
        "XY_BARS_MAX_AGE", default: "720h", help: "Age limit of the XY_BARS stream (1-minute bars).")
    public static let streamReplicasVariable = EnvironmentVariable(
        "XY_STREAM_REPLICAS", default: "1", help: "Replicas of XY_TICKS and XY_BARS (1 to 5; more than 1 needs a JetStream cluster).")

    public static let variables: [EnvironmentVariable] = [
        groupsVariable, ownGroupsVariable, dynamicGroupsVariable, tickIntervalVariable, snapshotIntervalVariable, barGraceVariable,
        eventFutureSkewVariable, ticksMaxAgeVariable, ticksMaxBytesVariable, barsMaxAgeVariable, streamReplicasVariable,
    ]

    /// Each setting as given, or else at its variable's default.
    /// Given `groups` are the configured groups (all of them, all owned); the dynamic groups
    /// (`dynamicGroupCount` of them) are all owned unless `dynamicGroups` names some.
    public init(
        groups: [Group]? = nil, dynamicGroupCount: Int? = nil, dynamicGroups: [String]? = nil, tickInterval: Duration? = nil, snapshotInterval: Duration? = nil, barGrace: Duration? = nil,
        eventFutureSkew: Duration? = nil, ticksMaxAge: Duration? = nil, ticksMaxBytes: Int64? = nil, barsMaxAge: Duration? = nil,
        streamReplicas: Int? = nil
    ) {
        self = EnvironmentReader.defaults(Self.init(environment:))
        if let groups { self.groups = groups }
        if groups != nil || dynamicGroupCount != nil {
            symbolGroups = SymbolGroups(
                configured: self.groups.map { ($0.name, $0.symbols) }, dynamicCount: dynamicGroupCount ?? symbolGroups.dynamicCount)
            self.dynamicGroups = symbolGroups.dynamicNames
        }
        if let dynamicGroups { self.dynamicGroups = dynamicGroups }
        if let tickInterval { self.tickInterval = tickInterval }
        if let snapshotInterval { self.snapshotInterval = snapshotInterval }
        if let barGrace { self.barGrace = barGrace }
        if let eventFutureSkew { self.eventFutureSkew = eventFutureSkew }
        if let ticksMaxAge { self.ticksMaxAge = ticksMaxAge }
        if let ticksMaxBytes { self.ticksMaxBytes = ticksMaxBytes }
        if let barsMaxAge { self.barsMaxAge = barsMaxAge }
        if let streamReplicas { self.streamReplicas = streamReplicas }
    }

    /// Reads and checks every aggregator variable; the first bad one throws, naming it.
    public init(environment: EnvironmentReader) throws(ConfigurationError) {
        let all = try Self.parseGroups(try environment.requiredString(Self.groupsVariable))
        symbolGroups = try Self.symbolGroups(all, environment: environment)
        let own = try environment.list(Self.ownGroupsVariable)
        if own.isEmpty {
            groups = all
            dynamicGroups = symbolGroups.dynamicNames
        } else {
            groups = []
            dynamicGroups = []
            for name in own {
                if let group = all.first(where: { $0.name == name }) {
                    if !groups.contains(group) { groups.append(group) }
                } else if symbolGroups.isDynamicGroup(name) {
                    if !dynamicGroups.contains(name) { dynamicGroups.append(name) }
                } else {
                    throw ConfigurationError(
                        variable: Self.ownGroupsVariable.name,
                        reason: "names '\(name)', which is neither a group of AGG_GROUPS nor one of the \(symbolGroups.dynamicCount) dynamic groups")
                }
            }
        }
        tickInterval = try environment.duration(Self.tickIntervalVariable)
        guard Self.tickIntervalRange.contains(tickInterval) else {
            throw ConfigurationError(variable: Self.tickIntervalVariable.name, reason: "must be between 5ms and 1s, got \(tickInterval)")
        }
        snapshotInterval = try environment.duration(Self.snapshotIntervalVariable)
        guard Self.snapshotIntervalRange.contains(snapshotInterval) else {
            throw ConfigurationError(variable: Self.snapshotIntervalVariable.name, reason: "must be between 2s and 5s, got \(snapshotInterval)")
        }
        barGrace = try environment.duration(Self.barGraceVariable)
        guard barGrace < .seconds(60) else {
            throw ConfigurationError(variable: Self.barGraceVariable.name, reason: "must be under 60s, got \(barGrace)")
        }
        eventFutureSkew = try environment.duration(Self.eventFutureSkewVariable)
        guard eventFutureSkew <= Self.maximumEventFutureSkew else {
            throw ConfigurationError(variable: Self.eventFutureSkewVariable.name, reason: "must be at most 1h, got \(eventFutureSkew)")
        }
        ticksMaxAge = try environment.duration(Self.ticksMaxAgeVariable)
        ticksMaxBytes = Int64(try environment.integer(Self.ticksMaxBytesVariable, in: 1_048_576...Int.max))
        barsMaxAge = try environment.duration(Self.barsMaxAgeVariable)
        streamReplicas = try environment.integer(Self.streamReplicasVariable, in: 1...5)
    }

    /// The mapping of `groups` (all of `AGG_GROUPS`) and `AGG_DYNAMIC_GROUPS`, as every service must
    /// build it; a configured group named like a dynamic one is refused (they would share a subject).
    public static func symbolGroups(_ groups: [Group], environment: EnvironmentReader) throws(ConfigurationError) -> SymbolGroups {
        let count = try environment.integer(dynamicGroupsVariable, in: 1...SymbolGroups.maximumDynamicCount)
        let mapping = SymbolGroups(configured: groups.map { ($0.name, $0.symbols) }, dynamicCount: count)
        if let clash = groups.first(where: { mapping.isDynamicGroup($0.name) }) {
            throw ConfigurationError(variable: groupsVariable.name, reason: "group '\(clash.name)' is named like a dynamic group (\(SymbolGroups.dynamicPrefix)NN)")
        }
        return mapping
    }

    /// `demo=AAPL,MSFT;tech=NVDA` → groups in order; names and symbols must be valid subject tokens.
    public static func parseGroups(_ text: String) throws(ConfigurationError) -> [Group] {
        let variable = groupsVariable.name
        var groups: [Group] = []
        for part in text.split(separator: ";") {
            let entry = String(part).trimmingSpacesAndNewlines()
            if entry.isEmpty { continue }
            guard let equals = entry.firstIndex(of: "=") else {
                throw ConfigurationError(variable: variable, reason: "'\(entry)' is not name=SYM,SYM")
            }
            let name = String(entry[..<equals]).trimmingSpacesAndNewlines()
            do {
                _ = try SubjectToken.group(name)
            } catch {
                throw ConfigurationError(variable: variable, reason: "'\(name)' is not a valid group name: \(error)")
            }
            guard !groups.contains(where: { $0.name == name }) else {
                throw ConfigurationError(variable: variable, reason: "group '\(name)' is defined twice")
            }
            var symbols: [String] = []
            for raw in entry[entry.index(after: equals)...].split(separator: ",") {
                let symbol = String(raw).trimmingSpacesAndNewlines().uppercased()
                if symbol.isEmpty || symbols.contains(symbol) { continue }
                do {
                    _ = try SubjectToken.symbol(symbol)
                } catch {
                    throw ConfigurationError(variable: variable, reason: "'\(symbol)' in group '\(name)' is not a ticker: \(error)")
                }
                symbols.append(symbol)
            }
            guard !symbols.isEmpty else {
                throw ConfigurationError(variable: variable, reason: "group '\(name)' has no symbols")
            }
            groups.append(Group(name: name, symbols: symbols))
        }
        guard !groups.isEmpty else {
            throw ConfigurationError(variable: variable, reason: "defines no group")
        }
        return groups
    }
}

extension String {
    /// Without leading and trailing white space.
    func trimmingSpacesAndNewlines() -> String {
        guard let first = firstIndex(where: { !$0.isWhitespace }), let last = lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return String(self[first...last])
    }
}

/// The gateways' leases and what they ask of the vendor subscription: which leased symbols to
/// stream within the quota, which to refuse, and which to reclaim once nobody has leased them for
/// the grace period. A lease that lapses (its gateway stopped renewing) counts as gone.
///
/// Pure, like the machine that holds it: every time is a monotonic nanosecond count passed in, so
/// tests drive expiry and grace without waiting.
public struct UpstreamLeaseBook: Sendable {
    /// One received `SymbolLease`, its lifetime already turned into a duration (the sender's clock
    /// never meets ours).
    public struct Lease: Sendable, Hashable {
        public var instance: String
        public var symbols: [String]
        /// How long the lease lives from its arrival: `expires_at_ns - issued_at_ns`.
        public var lifetimeNanoseconds: Int64
        /// The sender's `issued_at_ns`, which tells a restarted sender's first lease from a late one.
        public var issuedAtNanoseconds: Int64
        public var revision: UInt64

        public init(instance: String, symbols: [String], lifetimeNanoseconds: Int64, issuedAtNanoseconds: Int64, revision: UInt64) {
            self.instance = instance
            self.symbols = symbols
            self.lifetimeNanoseconds = lifetimeNanoseconds
            self.issuedAtNanoseconds = issuedAtNanoseconds
            self.revision = revision
        }
    }

    /// What the vendor subscription must do for the leases, decided by ``plan(now:pinned:capacity:)``.
    public struct Plan: Sendable, Hashable {
        /// Leased symbols to subscribe, earliest lease first.
        public var add: [String] = []
        /// Symbols to unsubscribe: their last lease ended more than the grace period ago, or a
        /// leased symbol needs the room.
        public var remove: [String] = []
        /// Leased symbols the quota has no room for, earliest lease first.
        public var refused: [String] = []
        /// Whether the refused list differs from the previous plan's.
        public var refusedChanged = false
        /// Instances whose lease lapsed now (they stopped renewing).
        public var lapsed: [String] = []
    }

    /// A live lease as held: its symbols and the local time it lapses at.
    private struct Held: Sendable {
        var symbols: Set<String>
        var expiresAt: Int64
        var issuedAt: Int64
        var revision: UInt64
    }

    /// Nobody may hold a symbol longer than this without renewing (one hour), whatever a lease says.
    static let longestLifetime: Int64 = 3_600_000_000_000

    private var held: [String: Held] = [:]
    /// When each symbol became leased without a break: the order in which leased symbols get the quota.
    private var leasedSince: [String: Int64] = [:]
    /// When each streamed symbol lost its last lease: the start of its grace period.
    private var releasedAt: [String: Int64] = [:]
    /// Symbols in the vendor subscription because of leases (the pinned ones are not here).
    public private(set) var streamed: Set<String> = []
    /// The last plan's refusals.
    public private(set) var refused: [String] = []
    /// How long a symbol nobody leases stays subscribed (`UPSTREAM_LEASE_GRACE`).
    public let graceNanoseconds: Int64

    public init(graceNanoseconds: Int64) {
        self.graceNanoseconds = max(0, graceNanoseconds)
    }

    /// Instances holding a live lease (as of the last plan).
    public var instanceCount: Int { held.count }

    /// Distinct symbols leased by the live leases (as of the last plan).
    public var leasedCount: Int { leasedSince.count }

    /// Whether any live lease (as of the last plan) names `symbol`, or it is streamed for one.
    public func wants(_ symbol: String) -> Bool {
        leasedSince[symbol] != nil || streamed.contains(symbol)
    }

    /// Records a lease (replacing the instance's previous one); false when it is older than the one
    /// held (a lower revision, not issued later) and was dropped. Symbols that are not tickers are
    /// left out; an empty set releases the instance's symbols.
    public mutating func receive(_ lease: Lease, now: Int64) -> Bool {
        if let previous = held[lease.instance], lease.revision <= previous.revision, lease.issuedAtNanoseconds <= previous.issuedAt {
            return false
        }
        let lifetime = min(max(lease.lifetimeNanoseconds, 0), Self.longestLifetime)
        let symbols = Set(lease.symbols.map { $0.uppercased() }.filter(UpstreamInterest.isValidSymbol))
        held[lease.instance] = Held(symbols: symbols, expiresAt: now + lifetime, issuedAt: lease.issuedAtNanoseconds, revision: lease.revision)
        return true
    }

    /// `symbol` is pinned now (configured or asked for on `xy.ctl.upstream.subscribe`): the leases
    /// no longer decide about it.
    public mutating func unpin(fromLeases symbol: String) {
        streamed.remove(symbol)
        releasedAt[symbol] = nil
    }

    /// `symbol` stays subscribed though no longer pinned, because leases want it: from now on they decide.
    public mutating func adopt(_ symbol: String, now: Int64) {
        streamed.insert(symbol)
        if leasedSince[symbol] == nil, releasedAt[symbol] == nil { releasedAt[symbol] = now }
    }

    /// What ``lapse(now:)`` found expired.
    public struct Lapse: Sendable, Hashable {
        /// Instances whose lease expired with symbols in it (they stopped renewing), sorted.
        public var instances: [String] = []
        /// When each symbol of an expired lease was let go: the lease's expiry, not the moment
        /// this noticed, so the grace period is not stretched by the check interval.
        public var symbolsLetGo: [String: Int64] = [:]
    }

    /// Forgets the leases expired at `now` (and the released, empty ones) and brings the leased
    /// symbols up to date.
    @discardableResult
    public mutating func lapse(now: Int64) -> Lapse {
        var lapse = Lapse()
        for (instance, lease) in held where lease.expiresAt <= now && !lease.symbols.isEmpty {
            lapse.instances.append(instance)
            for symbol in lease.symbols { lapse.symbolsLetGo[symbol] = max(lapse.symbolsLetGo[symbol] ?? lease.expiresAt, lease.expiresAt) }
        }
        lapse.instances.sort()
        held = held.filter { $0.value.expiresAt > now && !$0.value.symbols.isEmpty }
        var leased = Set<String>()
        for lease in held.values { leased.formUnion(lease.symbols) }
        leasedSince = leasedSince.filter { leased.contains($0.key) }
        for symbol in leased where leasedSince[symbol] == nil { leasedSince[symbol] = now }
        return lapse
    }

    /// Lapses the expired leases and decides the lease-driven part of the vendor subscription:
    /// leased symbols not `pinned`, earliest lease first, up to `capacity`; a symbol whose last
    /// lease ended stays through the grace period while there is room, then is reclaimed.
    public mutating func plan(now: Int64, pinned: Set<String>, capacity: Int) -> Plan {
        let lapsed = lapse(now: now)
        let leased = Set(leasedSince.keys)

        streamed.subtract(pinned)
        for symbol in streamed where !leased.contains(symbol) && releasedAt[symbol] == nil { releasedAt[symbol] = lapsed.symbolsLetGo[symbol] ?? now }
        releasedAt = releasedAt.filter { streamed.contains($0.key) && !leased.contains($0.key) }

        var keep: [String] = []
        var refusedNow: [String] = []
        let room = max(0, capacity)
        let candidates = leased.subtracting(pinned).sorted { (leasedSince[$0] ?? now, $0) < (leasedSince[$1] ?? now, $1) }
        for symbol in candidates {
            if keep.count < room { keep.append(symbol) } else { refusedNow.append(symbol) }
        }
        // In their grace period, the most recently released first, while a leased symbol does not need the room.
        let graced = releasedAt.filter { now - $0.value < graceNanoseconds }.sorted { ($0.value, $0.key) > ($1.value, $1.key) }
        for (symbol, _) in graced where keep.count < room { keep.append(symbol) }

        var plan = Plan()
        let kept = Set(keep)
        plan.add = keep.filter { !streamed.contains($0) }
        plan.remove = streamed.filter { !kept.contains($0) }.sorted()
        plan.refused = refusedNow
        plan.refusedChanged = refusedNow != refused
        plan.lapsed = lapsed.instances
        for symbol in plan.remove { releasedAt[symbol] = nil }
        streamed = kept
        refused = refusedNow
        return plan
    }
}

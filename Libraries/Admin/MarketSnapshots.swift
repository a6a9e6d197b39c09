import Aggregator
import Foundation
import NATS
import NIOConcurrencyHelpers
import NIOCore
import SwiftProtobuf
import XYContracts
import XYCore

/// The latest state of one ticker as the snapshots operation reports it.
public struct SnapshotQuote: Sendable, Equatable {
    /// Where the figures come from (the document's `source`).
    public enum Source: String, Sendable {
        case aggregator
        case vendor
    }

    public var last: Double
    public var change: Double
    public var changePercent: Double
    /// Time of the newest event folded into the state, in Unix milliseconds.
    public var updatedAtMilliseconds: Int64
    public var source: Source

    public init(last: Double, change: Double, changePercent: Double, updatedAtMilliseconds: Int64, source: Source) {
        self.last = last
        self.change = change
        self.changePercent = changePercent
        self.updatedAtMilliseconds = updatedAtMilliseconds
        self.source = source
    }

    /// The aggregator's state of a symbol, as published in snapshots and tick batches.
    init(tick: Xy_Md_V1_SymbolTick) {
        self.init(
            last: tick.last, change: tick.change, changePercent: tick.changePercent,
            updatedAtMilliseconds: tick.eventTimeNs / 1_000_000, source: .aggregator)
    }
}

/// What is known of one ticker asked for: each outcome becomes one entry of the answer, so one
/// ticker's trouble never fails the whole call.
public enum SnapshotLookup: Sendable, Equatable {
    case found(SnapshotQuote)
    /// No aggregator holds the ticker (no configured group names it, and its dynamic group does not
    /// hold it or nobody answers for that group): the vendor fallback's case.
    case notStreamed
    /// Its group is streamed but the ticker has had no trade yet.
    case noTradeYet
    /// The aggregator owning its group did not answer the snapshot request in time.
    case unavailable
}

/// Looks up tickers in the aggregator's live state: each ticker's group comes from the shared
/// mapping (``SymbolGroups``: AGG_GROUPS, parsed by the aggregator's own parser, else the dynamic
/// group of AGG_DYNAMIC_GROUPS the ticker hashes to), and each group is asked with
/// its snapshot request (`xy.md.snapshot.get.<group>`, only the symbols wanted), so the answer
/// is the state at the time of the call, not a copy that lags behind.
///
/// Concurrent calls share requests (``CoalescedRequests``): at most one request per group is in
/// flight, and the calls arriving meanwhile are answered together by the next one, sent after
/// they arrived. The aggregator's load is thus bounded by the number of groups, whatever the
/// number of HTTP clients, and no caller gets a state older than its call.
public final class MarketSnapshots: Sendable {
    /// A vendor's snapshot for tickers the stack does not stream: the quotes it found, by ticker.
    public typealias Fallback = @Sendable ([String]) async -> [String: SnapshotQuote]

    /// How long a group's aggregator has to answer (it answers at once on its event loop).
    public static let requestTimeout: Duration = .seconds(2)

    private let nats: NATSClient
    /// Ticker → its group.
    private let symbolGroups: SymbolGroups
    private let groups: [String: NIOLockedValueBox<CoalescedRequests<Waiter>>]
    private let fallback: Fallback?

    /// - Parameter fallback: asked once per call for every ticker no group holds; without one,
    ///   such tickers are reported ``SnapshotLookup/notStreamed``.
    ///   - dynamicGroupCount: `AGG_DYNAMIC_GROUPS`, as the aggregators have it.
    public init(
        nats: NATSClient, groups: [AggregatorConfiguration.Group], dynamicGroupCount: Int = SymbolGroups.defaultDynamicCount,
        fallback: Fallback? = nil
    ) {
        self.nats = nats
        let symbolGroups = SymbolGroups(configured: groups.map { ($0.name, $0.symbols) }, dynamicCount: dynamicGroupCount)
        self.symbolGroups = symbolGroups
        self.groups = Dictionary(
            (symbolGroups.configuredNames + symbolGroups.dynamicNames).map { ($0, NIOLockedValueBox(CoalescedRequests<Waiter>())) },
            uniquingKeysWith: { first, _ in first })
        self.fallback = fallback
    }

    /// One outcome per ticker, in the order asked (duplicates included).
    public func lookup(_ tickers: [String]) async -> [SnapshotLookup] {
        var symbolsByGroup: [String: [String]] = [:]
        for ticker in tickers {
            let group = symbolGroups.group(of: ticker)
            if symbolsByGroup[group]?.contains(ticker) != true { symbolsByGroup[group, default: []].append(ticker) }
        }
        var states: [String: GroupAnswer] = [:]
        await withTaskGroup(of: (String, GroupAnswer).self) { tasks in
            for (group, symbols) in symbolsByGroup {
                tasks.addTask { (group, await self.ask(group: group, symbols: symbols)) }
            }
            for await (group, answer) in tasks { states[group] = answer }
        }
        var outcomes = tickers.map { ticker -> SnapshotLookup in
            let group = symbolGroups.group(of: ticker)
            // A dynamic group holds only what someone streams: a ticker it lacks (or a group no
            // aggregator answers for) is not streamed, and the vendor may know it.
            let dynamic = symbolGroups.configuredGroup(of: ticker) == nil
            guard let answer = states[group] else { return .notStreamed }
            switch answer {
            case .unavailable: return dynamic ? .notStreamed : .unavailable
            case .ticks(let ticks):
                guard let tick = ticks[ticker] else { return dynamic ? .notStreamed : .noTradeYet }
                guard tick.last > 0 else { return .noTradeYet }
                return .found(SnapshotQuote(tick: tick))
            }
        }
        await applyFallback(tickers, &outcomes)
        return outcomes
    }

    /// The one place where tickers the stack does not stream go to the vendor.
    private func applyFallback(_ tickers: [String], _ outcomes: inout [SnapshotLookup]) async {
        guard let fallback else { return }
        var missing: [String] = []
        for (index, outcome) in outcomes.enumerated() where outcome == .notStreamed && !missing.contains(tickers[index]) {
            missing.append(tickers[index])
        }
        guard !missing.isEmpty else { return }
        let quotes = await fallback(missing)
        for (index, outcome) in outcomes.enumerated() where outcome == .notStreamed {
            if let quote = quotes[tickers[index]] { outcomes[index] = .found(quote) }
        }
    }

    // MARK: group requests

    /// A group's state as one request got it.
    enum GroupAnswer: Sendable {
        case ticks([String: Xy_Md_V1_SymbolTick])
        case unavailable
    }

    /// A caller waiting for a group's state.
    struct Waiter: Sendable {
        var symbols: [String]
        var continuation: CheckedContinuation<Turn, Never>
    }

    /// What a waiting caller is resumed with: the answer, or the duty to send the next request
    /// for itself and the callers that arrived with it.
    enum Turn: Sendable {
        case answered(GroupAnswer)
        case send(followers: [Waiter])
    }

    private func ask(group: String, symbols: [String]) async -> GroupAnswer {
        guard let state = groups[group] else { return .unavailable }
        let turn = await withCheckedContinuation { (continuation: CheckedContinuation<Turn, Never>) in
            let waiter = Waiter(symbols: symbols, continuation: continuation)
            switch state.withLockedValue({ $0.arrive(waiter) }) {
            case .send: continuation.resume(returning: .send(followers: []))
            case .wait: break
            }
        }
        switch turn {
        case .answered(let answer):
            return answer
        case .send(let followers):
            var wanted = symbols
            for follower in followers {
                for symbol in follower.symbols where !wanted.contains(symbol) { wanted.append(symbol) }
            }
            // In a task of its own: the followers' answer must not fail because this caller's
            // request was cancelled (a client gone).
            let answer = await Task { await self.request(group: group, symbols: wanted) }.value
            for follower in followers { follower.continuation.resume(returning: .answered(answer)) }
            if let next = state.withLockedValue({ $0.answered() }) {
                next.leader.continuation.resume(returning: .send(followers: next.followers))
            }
            return answer
        }
    }

    /// One snapshot request; a timeout, no responder or an undecodable reply is `unavailable`.
    private func request(group: String, symbols: [String]) async -> GroupAnswer {
        do {
            var request = Xy_Md_V1_SnapshotRequest()
            request.group = group
            request.symbols = symbols
            let reply = try await nats.request(
                try Subjects.snapshotRequest(group: group), payload: ByteBuffer(bytes: try request.serializedBytes() as [UInt8]),
                timeout: TimeAmount(Self.requestTimeout))
            let snapshot = try Xy_Md_V1_Snapshot(serializedBytes: Array(reply.payload.readableBytesView))
            return .ticks(Dictionary(snapshot.ticks.map { ($0.symbol, $0) }, uniquingKeysWith: { _, newest in newest }))
        } catch {
            return .unavailable
        }
    }
}

/// Callers sharing one request at a time: the first caller sends, those arriving while it is in
/// flight wait, and when it is answered they become the next request (its first waiter sends it).
/// Pure state, the caller does the sending.
struct CoalescedRequests<Waiter>: Sendable where Waiter: Sendable {
    enum Arrival: Equatable {
        /// Nothing in flight: the caller sends now, for itself.
        case send
        /// A request is in flight: the caller waits to be resumed.
        case wait
    }

    private var inFlight = false
    private var waiting: [Waiter] = []

    /// A caller arrives.
    mutating func arrive(_ waiter: Waiter) -> Arrival {
        guard inFlight else {
            inFlight = true
            return .send
        }
        waiting.append(waiter)
        return .wait
    }

    /// The request in flight was answered: the callers that arrived meanwhile, one of them to send
    /// the next request, or nil when nobody waits (nothing is in flight any more).
    mutating func answered() -> (leader: Waiter, followers: [Waiter])? {
        guard let leader = waiting.first else {
            inFlight = false
            return nil
        }
        let followers = Array(waiting.dropFirst())
        waiting = []
        return (leader, followers)
    }
}

import NATS
import NIOConcurrencyHelpers

/// The last day of each asked ticker's live bars, in memory, so the common request (a chart's
/// recent few hundred minutes) costs one direct get instead of a consumer per request.
///
/// The stream stays the truth: every read first asks `XY_BARS` for the live subject's newest
/// sequence (one direct get); when the copy here has read up to it, the answer comes from
/// memory, otherwise only the messages after it are read (an ordered consumer from the next
/// sequence: a minute's new bar or an amendment) and merged in. Several copies of xy-admin each
/// keep their own, and none can serve a bar the stream does not hold. A range reaching further
/// back than ``window`` is not cached: the caller reads it from the stream.
final class LiveBarCache: Sendable {
    /// What is kept of one ticker.
    struct Entry: Sendable {
        /// Sorted by start; the newest version of each minute.
        var bars: [MinuteBar]
        /// Every live bar starting at or after this is in `bars`.
        var loadedFrom: Int64
        /// The stream sequence read up to (0: none yet).
        var lastSequence: UInt64
        var lastUsed: Int64
    }

    /// How far back a ticker's bars are kept: a day of minutes.
    static let window: Int64 = 86_400_000
    /// Tickers kept at most (the least recently asked goes first): about 100 KB each when full.
    static let maximumTickers = 1000

    let archive: BarsArchive
    private let entries = NIOLockedValueBox<[String: Entry]>([:])
    /// One refresh per ticker at a time; concurrent readers wait for it.
    private let refreshes = NIOLockedValueBox<[String: Task<Entry, any Error>]>([:])

    init(archive: BarsArchive) {
        self.archive = archive
    }

    /// The live bars starting in [from, to); nil when `from` lies before what is kept.
    func bars(_ ticker: String, from: Int64, to: Int64, now: Int64) async throws -> [MinuteBar]? {
        let horizon = now - Self.window
        guard from >= horizon else { return nil }
        let newest = try await archive.lastLiveSequence(ticker) ?? 0
        let current = entries.withLockedValue { entries -> Entry? in
            guard var entry = entries[ticker] else { return nil }
            if entry.lastSequence > newest {
                // The stream went back (purged or made again): start over.
                entries.removeValue(forKey: ticker)
                return nil
            }
            guard entry.lastSequence == newest, entry.loadedFrom <= from else { return nil }
            entry.lastUsed = now
            entries[ticker] = entry
            return entry
        }
        let entry: Entry
        if let current {
            entry = current
        } else {
            entry = try await refresh(ticker, horizon: horizon, now: now)
        }
        return Self.slice(entry.bars, from: from, to: to)
    }

    /// Brings the ticker's entry up to the stream's newest message (joining a refresh already running).
    private func refresh(_ ticker: String, horizon: Int64, now: Int64) async throws -> Entry {
        let (task, mine) = refreshes.withLockedValue { running -> (Task<Entry, any Error>, Bool) in
            if let task = running[ticker] { return (task, false) }
            let previous = entries.withLockedValue { $0[ticker] }
            let task = Task { [archive] in
                var entry = previous ?? Entry(bars: [], loadedFrom: horizon, lastSequence: 0, lastUsed: now)
                // After what was read before; from the window's start when nothing was.
                let start: ConsumerConfiguration.DeliverPolicy =
                    previous.flatMap { $0.lastSequence > 0 ? .byStartSequence($0.lastSequence + 1) : nil }
                    ?? .byStartTime(nanoseconds: horizon * 1_000_000)
                let messages = try await archive.liveMessages(ticker, deliverPolicy: start)
                var byStart = Dictionary(entry.bars.map { ($0.startMilliseconds, $0) }, uniquingKeysWith: { _, new in new })
                for (sequence, bar) in messages {
                    entry.lastSequence = max(entry.lastSequence, sequence)
                    byStart[bar.startMilliseconds] = bar
                }
                entry.loadedFrom = max(entry.loadedFrom, horizon)
                entry.bars = byStart.values.filter { $0.startMilliseconds >= entry.loadedFrom }.sorted { $0.startMilliseconds < $1.startMilliseconds }
                entry.lastUsed = now
                return entry
            }
            running[ticker] = task
            return (task, true)
        }
        defer {
            if mine { refreshes.withLockedValue { _ = $0.removeValue(forKey: ticker) } }
        }
        let entry = try await task.value
        if mine {
            entries.withLockedValue { entries in
                entries[ticker] = entry
                if entries.count > Self.maximumTickers,
                   let oldest = entries.min(by: { $0.value.lastUsed < $1.value.lastUsed })?.key {
                    entries.removeValue(forKey: oldest)
                }
            }
        }
        return entry
    }

    /// The bars of a sorted array starting in [from, to), found by binary search.
    static func slice(_ bars: [MinuteBar], from: Int64, to: Int64) -> [MinuteBar] {
        func lowerBound(_ time: Int64) -> Int {
            var low = 0
            var high = bars.count
            while low < high {
                let middle = (low + high) / 2
                if bars[middle].startMilliseconds < time { low = middle + 1 } else { high = middle }
            }
            return low
        }
        let lower = lowerBound(from)
        let upper = max(lower, lowerBound(to))
        return Array(bars[lower..<upper])
    }
}

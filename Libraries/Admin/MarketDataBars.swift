import Foundation
import Logging
import NATS
import NIOConcurrencyHelpers
import XYCore

/// The bars operation: a checked ``BarsQuery`` in, one page of bars out, from `XY_BARS`, with
/// the part of the page that lies before the ticker's first live bar backfilled from the vendor
/// once (``BarsArchive`` says where it is stored).
///
/// What counts as held: the live subject from the ticker's oldest live bar on (a minute without
/// a bar there had no trades), and a day's history up to its marker. Anything earlier than the
/// first live bar (or than now, for a ticker the stack does not stream) and not yet marked is
/// fetched from the vendor for the whole rest of that UTC day, stored, and then everything is
/// read back from the stream, so a first and a second read give the same bars.
final class MarketDataBars: Sendable {
    /// What the handler answers with.
    struct Page: Sendable {
        var bars: [MinuteBar]
        /// Whether this request asked the vendor (X-XY-Cache: miss).
        var backfilled: Bool
        /// Whether any bar of the page came from the live subject.
        var hasLiveBars: Bool
        var nextCursor: String?
    }

    let archive: BarsArchive
    /// The recent live bars of asked tickers (the common request never creates a consumer).
    let cache: LiveBarCache
    /// nil when no vendor REST URL is configured: pages hold only what the stream has.
    let vendor: VendorREST?
    let logger: Logger
    let now: @Sendable () -> Int64
    /// Oldest live bar per ticker, remembered for ``firstLiveLifetime`` (it only changes when
    /// the stream's age limit drops old bars, or a ticker starts streaming).
    private let firstLive = NIOLockedValueBox<[String: (start: Int64, checked: Int64)]>([:])
    /// Stored history days by `<ticker>.<day>`, with the coverage they were read at: a day's
    /// history only grows when its marker moves, so a read whose marker is unchanged is served here.
    private let days = NIOLockedValueBox<[String: (coveredTo: Int64?, bars: [Int64: MinuteBar], used: Int64)]>([:])
    /// Days kept at most (a full day is about 100 KB).
    static let maximumDays = 512
    /// Backfills in progress in this process, by ticker and day, so concurrent misses make one vendor call.
    private let flights = NIOLockedValueBox<[String: Task<Bool, any Error>]>([:])
    static let firstLiveLifetime: Int64 = 600_000
    static let dayMilliseconds: Int64 = 86_400_000

    init(archive: BarsArchive, vendor: VendorREST?, logger: Logger, now: @escaping @Sendable () -> Int64) {
        self.archive = archive
        self.cache = LiveBarCache(archive: archive)
        self.vendor = vendor
        self.logger = logger
        self.now = now
    }

    /// One page of `query`.
    func page(_ query: BarsQuery) async throws -> Page {
        let start = query.pageStartMilliseconds
        let end = query.pageEndMilliseconds
        let liveFrom = try await firstLiveStart(query.ticker)
        // Before the first live bar, and never the minute still running: the history part.
        let currentMinute = now() / BarsQuery.minuteMilliseconds * BarsQuery.minuteMilliseconds
        let historyEnd = min(end, liveFrom ?? currentMinute, currentMinute)
        var backfilled = false
        var minutes: [Int64: MinuteBar] = [:]
        if start < historyEnd {
            var day = start / Self.dayMilliseconds * Self.dayMilliseconds
            while day < historyEnd {
                // The page needs the day up to `pageNeed`; a backfill takes all it can of the day.
                let pageNeed = min(day + Self.dayMilliseconds, historyEnd)
                let fetchUntil = min(day + Self.dayMilliseconds, liveFrom ?? currentMinute, currentMinute)
                let covered = try await archive.coveredTo(query.ticker, dayStartMilliseconds: day)
                var held = covered != nil
                if let vendor, (covered ?? day) < pageNeed,
                   try await backfill(query.ticker, day: day, needed: pageNeed, until: fetchUntil, vendor: vendor) {
                    backfilled = true
                    held = true
                }
                if held {
                    let stored = try await history(query.ticker, day: day)
                    for (minute, bar) in stored where minute >= start && minute < historyEnd {
                        minutes[minute] = bar
                    }
                }
                day += Self.dayMilliseconds
            }
        }
        var hasLiveBars = false
        if let liveFrom, liveFrom < end {
            let liveStart = max(start, liveFrom)
            let live: [Int64: MinuteBar]
            if let cached = try await cache.bars(query.ticker, from: liveStart, to: end, now: now()) {
                if minutes.isEmpty {
                    // All live and already sorted: the common request skips the merge.
                    return Page(
                        bars: Self.buckets(cached, stepMilliseconds: query.stepMilliseconds), backfilled: backfilled,
                        hasLiveBars: !cached.isEmpty, nextCursor: query.nextCursor)
                }
                live = Dictionary(cached.map { ($0.startMilliseconds, $0) }, uniquingKeysWith: { _, new in new })
            } else {
                live = try await archive.liveBars(query.ticker, from: liveStart, to: end)
            }
            hasLiveBars = !live.isEmpty
            minutes.merge(live) { _, live in live }
        }
        return Page(
            bars: Self.buckets(minutes.values.sorted { $0.startMilliseconds < $1.startMilliseconds }, stepMilliseconds: query.stepMilliseconds),
            backfilled: backfilled, hasLiveBars: hasLiveBars, nextCursor: query.nextCursor)
    }

    /// One day's stored history: from memory when its marker has not moved since it was read.
    private func history(_ ticker: String, day: Int64) async throws -> [Int64: MinuteBar] {
        let key = "\(ticker).\(day)"
        let covered = try await archive.coveredTo(ticker, dayStartMilliseconds: day)
        let time = now()
        if let known = days.withLockedValue({ days -> [Int64: MinuteBar]? in
            guard let entry = days[key], entry.coveredTo == covered else { return nil }
            days[key]?.used = time
            return entry.bars
        }) {
            return known
        }
        let stored = try await archive.history(ticker, dayStartMilliseconds: day)
        days.withLockedValue { days in
            days[key] = (stored.coveredTo, stored.bars, time)
            if days.count > Self.maximumDays, let oldest = days.min(by: { $0.value.used < $1.value.used })?.key {
                days.removeValue(forKey: oldest)
            }
        }
        return stored.bars
    }

    /// The oldest live bar's start, from memory when recent; a ticker without live bars is asked again every time.
    private func firstLiveStart(_ ticker: String) async throws -> Int64? {
        let time = now()
        if let known = firstLive.withLockedValue({ $0[ticker] }), time - known.checked < Self.firstLiveLifetime {
            return known.start
        }
        // One direct get tells a ticker the stack does not stream; only others need a consumer.
        guard try await archive.lastLiveSequence(ticker) != nil, let start = try await archive.firstLiveStart(ticker) else { return nil }
        firstLive.withLockedValue { $0[ticker] = (start, time) }
        return start
    }

    /// Fetches the rest of `day` up to `until` from the vendor and stores it with its marker;
    /// a backfill of the same day already running in this process is joined instead of repeated,
    /// and one that finds the day already held up to `needed` (stored by another request or
    /// copy meanwhile) asks nobody. True when the vendor was asked.
    private func backfill(_ ticker: String, day: Int64, needed: Int64, until: Int64, vendor: VendorREST) async throws -> Bool {
        let key = "\(ticker).\(day)"
        let (task, mine) = flights.withLockedValue { running -> (Task<Bool, any Error>, Bool) in
            if let task = running[key] { return (task, false) }
            let task = Task { [archive, logger] () throws -> Bool in
                let covered = try await archive.coveredTo(ticker, dayStartMilliseconds: day) ?? day
                guard covered < needed else { return false }
                let bars = try await vendor.aggregates(ticker: ticker, fromMilliseconds: covered, toMilliseconds: until)
                let minutes = bars.map { bar in
                    MinuteBar(
                        startMilliseconds: bar.startMilliseconds, open: bar.open, high: bar.high, low: bar.low, close: bar.close,
                        volume: bar.volume, vwap: bar.vwap ?? bar.close, trades: bar.trades ?? 0)
                }
                try await archive.storeHistory(ticker, dayStartMilliseconds: day, bars: minutes, coveredTo: until)
                logger.info("bars backfilled from the vendor", metadata: [
                    "ticker": "\(ticker)", "day": "\(UTCTime.dayToken(milliseconds: day))", "bars": "\(minutes.count)",
                    "from_ms": "\(covered)", "to_ms": "\(until)",
                ])
                return true
            }
            running[key] = task
            return (task, true)
        }
        defer {
            if mine { flights.withLockedValue { _ = $0.removeValue(forKey: key) } }
        }
        return try await task.value
    }

    /// 1-minute bars (sorted) folded into buckets of `stepMilliseconds`: first open, last close,
    /// extremes, summed volume and trades, and the volume-weighted VWAP.
    static func buckets(_ minutes: [MinuteBar], stepMilliseconds: Int64) -> [MinuteBar] {
        guard stepMilliseconds > BarsQuery.minuteMilliseconds else { return minutes }
        var out: [MinuteBar] = []
        var weighted = 0.0
        for bar in minutes {
            let bucket = bar.startMilliseconds - ((bar.startMilliseconds % stepMilliseconds) + stepMilliseconds) % stepMilliseconds
            if var last = out.last, last.startMilliseconds == bucket {
                last.high = max(last.high, bar.high)
                last.low = min(last.low, bar.low)
                last.close = bar.close
                last.volume += bar.volume
                last.trades += bar.trades
                weighted += bar.vwap * bar.volume
                last.vwap = last.volume > 0 ? weighted / last.volume : bar.close
                out[out.count - 1] = last
            } else {
                var first = bar
                first.startMilliseconds = bucket
                weighted = bar.vwap * bar.volume
                out.append(first)
            }
        }
        return out
    }
}

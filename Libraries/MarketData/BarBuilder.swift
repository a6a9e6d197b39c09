import XYContracts

/// Builds 1-minute OHLCV bars (with VWAP and trade count) per symbol from trades, by event
/// time. The open bar updates in place; a trade in a later minute, or `advance(toNs:)` past
/// the minute's end, seals it. A late trade whose minute ended less than `graceNs` ago (by the
/// symbol's newest trade or the owner's clock, whichever is later) amends the sealed bar, which
/// is then published again; a later one is refused and counted.
///
/// Minutes without trades have no bar. A value type with no clock: the aggregator calls
/// `advance(toNs:)` from its timer so quiet symbols' bars seal on time.
public struct BarBuilder: Sendable {
    /// What one trade did; `barToPublish` is what goes to `xy.md.bar.<SYMBOL>`.
    public enum TradeOutcome: Hashable, Sendable {
        /// Folded into the symbol's open bar; nothing to publish yet.
        case updated
        /// Started a new open bar, sealing the previous one (`sealed`, to publish) if any.
        case opened(sealed: Xy_Md_V1_Bar?)
        /// Folded into an already sealed bar (or made one for a minute that had none): publish
        /// it again.
        case amended(Xy_Md_V1_Bar)
        /// Its minute ended more than the grace window ago; ignored.
        case refusedLate
        /// No symbol, a price that is not positive, a negative size, or a time before the epoch
        /// or so far ahead that minute arithmetic would overflow; ignored.
        case invalid

        /// The bar to publish, if any.
        public var barToPublish: Xy_Md_V1_Bar? {
            switch self {
            case .opened(let sealed): sealed
            case .amended(let bar): bar
            case .updated, .refusedLate, .invalid: nil
            }
        }
    }

    /// Trades and bars counted by what became of them (`xy_md_bars_out_total` is sealed +
    /// amended).
    public struct Counters: Hashable, Sendable {
        public var trades: UInt64 = 0
        public var sealed: UInt64 = 0
        public var amended: UInt64 = 0
        public var refusedLate: UInt64 = 0
        public var invalid: UInt64 = 0
    }

    /// What the builder keeps per symbol: the open bar and the sealed ones still amendable.
    private struct SymbolBars: Sendable {
        let symbol: String
        var open: BarAccumulator?
        /// Sorted by start; only those whose grace window has not passed.
        var sealed: [BarAccumulator] = []
        var newestTradeNs: Int64 = .min
    }

    /// One minute.
    public static let intervalNs: Int64 = 60_000_000_000
    /// How long after its minute ends a bar still takes late trades, unless told otherwise.
    public static let defaultGraceNs: Int64 = 5_000_000_000

    /// The latest event time taken: bar ends and grace windows stay far from overflowing.
    public static let latestTimeNs: Int64 = .max / 2

    public let graceNs: Int64
    public private(set) var counters = Counters()
    /// The owner's clock as last given to `advance(toNs:)`.
    public private(set) var clockNs: Int64 = .min
    private var indexBySymbol: [String: Int] = [:]
    private var books: [SymbolBars] = []

    /// A builder that amends sealed bars for `graceNs` (0 or more, under one minute) after their
    /// minute ends.
    public init(graceNs: Int64 = BarBuilder.defaultGraceNs) throws(MarketDataError) {
        guard graceNs >= 0, graceNs < Self.intervalNs else {
            throw MarketDataError(.invalidConfiguration, "bar grace window \(graceNs) ns is not in [0, 60 s)")
        }
        self.graceNs = graceNs
    }

    /// The start of the minute `timeNs` falls in (floor, also before the epoch).
    public static func minuteStart(_ timeNs: Int64) -> Int64 {
        let remainder = timeNs % intervalNs
        return remainder >= 0 ? timeNs - remainder : timeNs - remainder - intervalNs
    }

    /// Folds a trade event in; nil for quotes and aggregates (vendor aggregates are not
    /// trusted for our bars: they would count the same volume twice).
    public mutating func apply(_ event: Xy_Md_V1_MarketEvent) -> TradeOutcome? {
        guard case .trade(let trade)? = event.event else { return nil }
        return apply(symbol: event.symbol, price: trade.price, size: trade.size, timeNs: event.eventTimeNs)
    }

    /// Folds one trade into the bar of its minute.
    public mutating func apply(symbol: String, price: Double, size: Double, timeNs: Int64) -> TradeOutcome {
        guard !symbol.isEmpty else {
            counters.invalid += 1
            return .invalid
        }
        return apply(at: slot(symbol), price: price, size: size, timeNs: timeNs)
    }

    /// The builder's index for `symbol` (added when new), for ``apply(at:price:size:timeNs:)``.
    public mutating func index(for symbol: String) -> Int {
        slot(symbol)
    }

    /// Folds one trade into the bar of its minute, for the symbol at `index` (from
    /// ``index(for:)``): the aggregator's path, with no lookup by name per trade.
    public mutating func apply(at index: Int, price: Double, size: Double, timeNs: Int64) -> TradeOutcome {
        guard books.indices.contains(index), price > 0, price.isFinite, size >= 0, size.isFinite,
              timeNs >= 0, timeNs <= Self.latestTimeNs
        else {
            counters.invalid += 1
            return .invalid
        }
        let minute = Self.minuteStart(timeNs)
        if timeNs > books[index].newestTradeNs { books[index].newestTradeNs = timeNs }
        let newestSealed = books[index].sealed.last?.startNs ?? .min
        let minuteOver = clockNs != .min && minute + Self.intervalNs <= clockNs
        if !minuteOver, minute > newestSealed {
            if let open = books[index].open {
                if minute == open.startNs {
                    books[index].open!.add(price: price, size: size, timeNs: timeNs)
                    counters.trades += 1
                    return .updated
                }
                if minute > open.startNs {
                    books[index].sealed.append(open)
                    books[index].open = BarAccumulator(startNs: minute, price: price, size: size, timeNs: timeNs)
                    prune(index)
                    counters.trades += 1
                    counters.sealed += 1
                    return .opened(sealed: open.bar(symbol: books[index].symbol, intervalNs: Self.intervalNs, sealed: true))
                }
            } else {
                books[index].open = BarAccumulator(startNs: minute, price: price, size: size, timeNs: timeNs)
                prune(index)
                counters.trades += 1
                return .opened(sealed: nil)
            }
        }
        return amend(index, minute: minute, price: price, size: size, timeNs: timeNs)
    }

    /// A trade for a minute that is over: folded into its sealed bar while the grace window
    /// lasts.
    private mutating func amend(_ index: Int, minute: Int64, price: Double, size: Double, timeNs: Int64) -> TradeOutcome {
        guard minute + Self.intervalNs + graceNs > horizon(index) else {
            counters.refusedLate += 1
            return .refusedLate
        }
        let position: Int
        if let found = books[index].sealed.firstIndex(where: { $0.startNs >= minute }), books[index].sealed[found].startNs == minute {
            books[index].sealed[found].add(price: price, size: size, timeNs: timeNs)
            position = found
        } else {
            position = books[index].sealed.firstIndex(where: { $0.startNs > minute }) ?? books[index].sealed.endIndex
            books[index].sealed.insert(BarAccumulator(startNs: minute, price: price, size: size, timeNs: timeNs), at: position)
        }
        counters.trades += 1
        counters.amended += 1
        return .amended(books[index].sealed[position].bar(symbol: books[index].symbol, intervalNs: Self.intervalNs, sealed: true))
    }

    /// Moves the owner's clock to `nowNs` and seals every open bar whose minute has ended:
    /// the bars to publish, in symbol order. Sealed bars past their grace window are forgotten.
    public mutating func advance(toNs nowNs: Int64) -> [Xy_Md_V1_Bar] {
        if nowNs > clockNs { clockNs = nowNs }
        var bars: [Xy_Md_V1_Bar] = []
        for index in books.indices {
            if let open = books[index].open, open.startNs + Self.intervalNs <= clockNs {
                books[index].sealed.append(open)
                books[index].open = nil
                counters.sealed += 1
                bars.append(open.bar(symbol: books[index].symbol, intervalNs: Self.intervalNs, sealed: true))
            }
            prune(index)
        }
        return bars
    }

    /// The symbol's open bar as it stands (`sealed` false), for a live chart.
    public func openBar(for symbol: String) -> Xy_Md_V1_Bar? {
        guard let index = indexBySymbol[symbol], let open = books[index].open else { return nil }
        return open.bar(symbol: symbol, intervalNs: Self.intervalNs, sealed: false)
    }

    /// The symbol's sealed bars that can still be amended, oldest first.
    public func amendableBars(for symbol: String) -> [Xy_Md_V1_Bar] {
        guard let index = indexBySymbol[symbol] else { return [] }
        return books[index].sealed.map { $0.bar(symbol: symbol, intervalNs: Self.intervalNs, sealed: true) }
    }

    /// Every bar held for `symbols`, in their order: the sealed ones still amendable (oldest first)
    /// and then the open one (`sealed` false). A checkpoint of these lets a restarted builder
    /// continue where this one stopped (``restore(_:)``).
    public func heldBars(for symbols: some Sequence<String>) -> [Xy_Md_V1_Bar] {
        var bars: [Xy_Md_V1_Bar] = []
        for symbol in symbols {
            guard let index = indexBySymbol[symbol] else { continue }
            for sealed in books[index].sealed {
                bars.append(sealed.bar(symbol: symbol, intervalNs: Self.intervalNs, sealed: true))
            }
            if let open = books[index].open {
                bars.append(open.bar(symbol: symbol, intervalNs: Self.intervalNs, sealed: false))
            }
        }
        return bars
    }

    /// Forgets `removed` symbols' bars (nobody streams them any more): returns their open bars,
    /// sealed now, to publish (their trades would be lost otherwise). Every other symbol's index
    /// (``index(for:)``) may change: ask again.
    public mutating func remove(_ removed: Set<String>) -> [Xy_Md_V1_Bar] {
        var sealed: [Xy_Md_V1_Bar] = []
        var kept: [SymbolBars] = []
        indexBySymbol.removeAll(keepingCapacity: true)
        for book in books {
            if removed.contains(book.symbol) {
                if let open = book.open {
                    counters.sealed += 1
                    sealed.append(open.bar(symbol: book.symbol, intervalNs: Self.intervalNs, sealed: true))
                }
            } else {
                indexBySymbol[book.symbol] = kept.count
                kept.append(book)
            }
        }
        books = kept
        return sealed
    }

    /// Takes bars back from a checkpoint (``heldBars(for:)``): open ones become the symbol's open
    /// bar, sealed ones amendable again. Where the builder already holds a bar for the same symbol and
    /// minute, the one with more trades stays (a symbol of two groups comes back twice). Bars that
    /// are not well-formed 1-minute bars, or hold a trade stamped after `notAfterNs` (a checkpoint
    /// written after a bad event: it would make every later trade look late), are skipped; returns
    /// how many were taken. Call `advance(toNs:)` next: open bars whose minute ended meanwhile seal then.
    @discardableResult
    public mutating func restore(_ bars: [Xy_Md_V1_Bar], notAfterNs: Int64 = BarBuilder.latestTimeNs) -> Int {
        var taken = 0
        for bar in bars where Self.isRestorable(bar) && bar.closeTimeNs <= notAfterNs {
            let index = slot(bar.symbol)
            let restored = BarAccumulator(bar: bar)
            if restored.closeTimeNs > books[index].newestTradeNs { books[index].newestTradeNs = restored.closeTimeNs }
            taken += 1
            if !bar.sealed, let open = books[index].open, open.startNs == restored.startNs {
                if restored.tradeCount > open.tradeCount { books[index].open = restored }
            } else if !bar.sealed, books[index].open.map({ $0.startNs < restored.startNs }) ?? true,
                      restored.startNs > books[index].sealed.last?.startNs ?? .min {
                if let open = books[index].open { insertSealed(open, at: index) }
                books[index].open = restored
            } else if restored.startNs < books[index].open?.startNs ?? .max {
                insertSealed(restored, at: index)
            } else {
                taken -= 1
            }
        }
        return taken
    }

    /// A bar `restore` can take: a symbol, one minute on a minute boundary, at least one trade,
    /// prices and volume in ``EventValidation``'s ranges and times inside its minute.
    private static func isRestorable(_ bar: Xy_Md_V1_Bar) -> Bool {
        let prices = [bar.open, bar.high, bar.low, bar.close, bar.vwap]
        return !bar.symbol.isEmpty && bar.interval == .oneMinute && bar.tradeCount > 0
            && bar.startTimeNs >= 0 && bar.startTimeNs <= latestTimeNs && minuteStart(bar.startTimeNs) == bar.startTimeNs
            && bar.endTimeNs == bar.startTimeNs + intervalNs
            && prices.allSatisfy(EventValidation.isPrice) && EventValidation.isVolume(bar.volume)
            && bar.openTimeNs >= bar.startTimeNs && bar.openTimeNs <= bar.closeTimeNs && bar.closeTimeNs < bar.endTimeNs
    }

    /// Puts a sealed bar in its place by start; the one with more trades wins a tie.
    private mutating func insertSealed(_ bar: BarAccumulator, at index: Int) {
        let position = books[index].sealed.firstIndex(where: { $0.startNs >= bar.startNs }) ?? books[index].sealed.endIndex
        if position < books[index].sealed.endIndex, books[index].sealed[position].startNs == bar.startNs {
            if bar.tradeCount > books[index].sealed[position].tradeCount { books[index].sealed[position] = bar }
        } else {
            books[index].sealed.insert(bar, at: position)
        }
    }

    /// The later of the symbol's newest trade and the owner's clock: what "now" is for it.
    private func horizon(_ index: Int) -> Int64 {
        max(books[index].newestTradeNs, clockNs)
    }

    /// Forgets the sealed bars no late trade can amend any more.
    private mutating func prune(_ index: Int) {
        let now = horizon(index)
        books[index].sealed.removeAll { $0.startNs + Self.intervalNs + graceNs <= now }
    }

    private mutating func slot(_ symbol: String) -> Int {
        if let index = indexBySymbol[symbol] { return index }
        books.append(SymbolBars(symbol: symbol))
        indexBySymbol[symbol] = books.count - 1
        return books.count - 1
    }
}

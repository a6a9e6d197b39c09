import XYContracts

/// The state of every symbol of one group, folded from `MarketEvent`s (the aggregator) or
/// rebuilt from a snapshot and tick batches (the aggregator after a restart, a gateway, any
/// replica). Symbols keep the index they were first seen at, so a batcher can remember what
/// changed as a list of integers, not a set of strings.
///
/// A value type with no clock and no I/O: the owner feeds it events and reads ticks back.
public struct MarketState: Sendable {
    /// What one event did to the state.
    public enum ApplyOutcome: Hashable, Sendable {
        /// Folded into the symbol at `index`; tell the batcher.
        case applied(index: Int)
        /// Older than (or a duplicate of) what the symbol at `index` already applied; ignored.
        case stale(index: Int)
        /// Refused by ``EventValidation`` (or with no symbol); ignored, the reason says why.
        case invalid(EventRefusal)
    }

    /// Events counted by what became of them (the aggregator's `xy_md_events_in_total`,
    /// `xy_md_stale_events_total` and `xy_md_events_refused_total`).
    public struct Counters: Hashable, Sendable {
        public var applied: UInt64 = 0
        public var stale: UInt64 = 0
        /// Every refused event, whatever the reason.
        public var invalid: UInt64 = 0
    }

    /// Every symbol, at its stable index.
    public private(set) var symbols: [SymbolState] = []
    public private(set) var counters = Counters()
    /// The rules every event must meet (its future skew only applies when a receive time is given).
    public var validation: EventValidation
    private var indexBySymbol: [String: Int] = [:]

    public init(validation: EventValidation = EventValidation()) {
        self.validation = validation
    }

    /// The index of `symbol`, if it was ever seen.
    public func index(of symbol: String) -> Int? {
        indexBySymbol[symbol]
    }

    /// The state of `symbol`, if it was ever seen.
    public subscript(symbol: String) -> SymbolState? {
        indexBySymbol[symbol].map { symbols[$0] }
    }

    /// The index of `symbol`, adding it (with an empty state) when it is new.
    public mutating func insert(_ symbol: String) -> Int {
        if let index = indexBySymbol[symbol] { return index }
        let index = symbols.count
        symbols.append(SymbolState(symbol: symbol))
        indexBySymbol[symbol] = index
        return index
    }

    /// Forgets `removed` (symbols nobody streams any more, so memory follows the live set). The
    /// others keep their order but move down: returns each old index's new one, nil for a removed
    /// symbol, so an owner holding indices (a batcher with nothing pending, routes) can follow.
    @discardableResult
    public mutating func remove(_ removed: Set<String>) -> [Int?] {
        var newIndex: [Int?] = []
        newIndex.reserveCapacity(symbols.count)
        var kept: [SymbolState] = []
        indexBySymbol.removeAll(keepingCapacity: true)
        for state in symbols {
            if removed.contains(state.symbol) {
                newIndex.append(nil)
            } else {
                newIndex.append(kept.count)
                indexBySymbol[state.symbol] = kept.count
                kept.append(state)
            }
        }
        symbols = kept
        return newIndex
    }

    /// Folds one vendor event into its symbol's state, unless it is refused (``EventValidation``;
    /// with `receivedAtNs`, the wall-clock time of its receipt, also one stamped too far ahead) or
    /// stale (ordered by event time, then vendor sequence, against the newest event of the same
    /// kind already applied).
    public mutating func apply(_ event: Xy_Md_V1_MarketEvent, receivedAtNs: Int64? = nil) -> ApplyOutcome {
        let fields = MarketEventFields(event)
        guard !event.symbol.isEmpty else { return refuse(.malformed) }
        if let refusal = refusal(fields, receivedAtNs: receivedAtNs) { return refuse(refusal) }
        return fold(fields, at: insert(event.symbol))
    }

    /// Folds an event into the symbol at `index` (from ``insert(_:)``): the aggregator's path,
    /// which knows the symbol from the subscription and reads the fields from the wire bytes.
    public mutating func apply(_ fields: MarketEventFields, at index: Int, receivedAtNs: Int64? = nil) -> ApplyOutcome {
        guard symbols.indices.contains(index) else { return refuse(.malformed) }
        if let refusal = refusal(fields, receivedAtNs: receivedAtNs) { return refuse(refusal) }
        return fold(fields, at: index)
    }

    private func refusal(_ fields: MarketEventFields, receivedAtNs: Int64?) -> EventRefusal? {
        if let receivedAtNs { return validation.refusal(fields, receivedAtNs: receivedAtNs) }
        return EventValidation.valueRefusal(fields)
    }

    /// A valid event against the symbol's state: stale, a volume that would leave its range, or applied.
    private mutating func fold(_ fields: MarketEventFields, at index: Int) -> ApplyOutcome {
        let key = EventKey(timeNs: fields.eventTimeNs, sequence: fields.vendorSequence)
        switch fields.kind {
        case .trade?:
            if key.isStale(after: symbols[index].lastTrade) { return stale(index) }
            guard EventValidation.isVolume(symbols[index].volume + fields.size) else { return refuse(.volume) }
            symbols[index].applyTrade(price: fields.price, size: fields.size, key: key)
        case .quote?:
            if key.isStale(after: symbols[index].lastQuote) { return stale(index) }
            symbols[index].applyQuote(
                bid: fields.bidPrice, bidSize: fields.bidSize, ask: fields.askPrice, askSize: fields.askSize, key: key)
        case .aggregate?:
            if key.isStale(after: symbols[index].lastAggregate) { return stale(index) }
            symbols[index].applyAggregate(fields, key: key)
        case nil:
            return refuse(.malformed)
        }
        counters.applied += 1
        return .applied(index: index)
    }

    private mutating func refuse(_ refusal: EventRefusal) -> ApplyOutcome {
        counters.invalid += 1
        return .invalid(refusal)
    }

    private mutating func stale(_ index: Int) -> ApplyOutcome {
        counters.stale += 1
        return .stale(index: index)
    }

    /// Repairs what a restored snapshot or replayed batch may carry but no valid event can make
    /// (``SymbolState/repaired(notAfterNs:)``): a value out of range becomes 0 (unknown), an
    /// ordering key stamped after `notAfterNs` (receipt time plus the allowed skew) is forgotten, so
    /// a state written by a producer that once applied a bad event cannot poison this one. Returns
    /// the symbols repaired.
    public mutating func repair(notAfterNs: Int64) -> [String] {
        var repaired: [String] = []
        for index in symbols.indices {
            let fixed = symbols[index].repaired(notAfterNs: notAfterNs)
            if fixed != symbols[index] {
                symbols[index] = fixed
                repaired.append(fixed.symbol)
            }
        }
        return repaired
    }

    /// Sets the reference of `change` and `changePercent` (from the vendor's previous-day bar
    /// or the last close the aggregator kept); returns the symbol's index for the batcher.
    public mutating func setPreviousClose(_ price: Double, for symbol: String) -> Int {
        let index = insert(symbol)
        symbols[index].previousClose = price
        return index
    }

    /// Starts a new trading day for every symbol (`SymbolState.startNewDay`); every symbol
    /// changed, so the caller marks them all in the batcher.
    public mutating func startNewDay() {
        for index in symbols.indices {
            symbols[index].startNewDay()
        }
    }

    /// Replaces a symbol's state with the one a tick describes (a replica following batches);
    /// returns its index. A tick without a symbol is refused.
    @discardableResult
    public mutating func apply(_ tick: Xy_Md_V1_SymbolTick) throws(MarketDataError) -> Int {
        guard !tick.symbol.isEmpty else { throw MarketDataError(.emptySymbol, "a tick without a symbol") }
        let index = insert(tick.symbol)
        symbols[index] = SymbolState(tick: tick)
        return index
    }

    /// Applies every tick of a batch (latest state per symbol). Sequencing is the caller's,
    /// through a `SequenceTracker`: only the batches after the state's seq belong here.
    public mutating func apply(_ batch: Xy_Md_V1_TickBatch) throws(MarketDataError) {
        for tick in batch.ticks {
            try apply(tick)
        }
    }
}

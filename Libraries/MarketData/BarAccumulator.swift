import XYContracts

/// The running sums of one bar: open and close by event time (not by arrival), high, low,
/// volume, and price × size for the VWAP, so a late trade can still be folded in exactly.
struct BarAccumulator: Hashable, Sendable {
    let startNs: Int64
    var open: Double
    var high: Double
    var low: Double
    var close: Double
    var volume: Double
    var notional: Double
    var tradeCount: UInt64
    var openTimeNs: Int64
    var closeTimeNs: Int64

    init(startNs: Int64, price: Double, size: Double, timeNs: Int64) {
        self.startNs = startNs
        open = price
        high = price
        low = price
        close = price
        volume = size
        notional = price * size
        tradeCount = 1
        openTimeNs = timeNs
        closeTimeNs = timeNs
    }

    /// A bar picked up again from its published form (a checkpoint after a restart). The notional
    /// comes back as VWAP × volume, so a continued VWAP may differ from an uninterrupted one in the
    /// last bits.
    init(bar: Xy_Md_V1_Bar) {
        startNs = bar.startTimeNs
        open = bar.open
        high = bar.high
        low = bar.low
        close = bar.close
        volume = bar.volume
        notional = bar.vwap * bar.volume
        tradeCount = bar.tradeCount
        openTimeNs = bar.openTimeNs
        closeTimeNs = bar.closeTimeNs
    }

    /// Folds in one trade; on equal times the first arrival stays the open and the last one
    /// becomes the close.
    mutating func add(price: Double, size: Double, timeNs: Int64) {
        if timeNs < openTimeNs {
            open = price
            openTimeNs = timeNs
        }
        if timeNs >= closeTimeNs {
            close = price
            closeTimeNs = timeNs
        }
        if price > high { high = price }
        if price < low { low = price }
        volume += size
        notional += price * size
        tradeCount += 1
    }

    /// The bar as published; the VWAP is the close while no volume traded (size-0 prints).
    func bar(symbol: String, intervalNs: Int64, sealed: Bool) -> Xy_Md_V1_Bar {
        var bar = Xy_Md_V1_Bar()
        bar.symbol = symbol
        bar.interval = .oneMinute
        bar.startTimeNs = startNs
        bar.endTimeNs = startNs + intervalNs
        bar.open = open
        bar.high = high
        bar.low = low
        bar.close = close
        bar.volume = volume
        bar.vwap = volume > 0 ? notional / volume : close
        bar.tradeCount = tradeCount
        bar.sealed = sealed
        bar.openTimeNs = openTimeNs
        bar.closeTimeNs = closeTimeNs
        return bar
    }
}

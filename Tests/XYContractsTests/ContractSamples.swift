import SwiftProtobuf
import XYContracts

/// One value of every contract message with every field set to something other than its
/// default (each oneof case in its own value), so a round trip that drops or mangles any field fails.
enum ContractSamples {
    static let time: Int64 = 1_700_000_000_123_456_789
    /// A producer epoch above 2^53, where a JavaScript number would already have lost digits.
    static let epoch: UInt64 = 1_699_999_000_987_654_321

    static var all: [any SwiftProtobuf.Message] {
        marketEvents + [trade, quote, aggregate, symbolTick, tickBatch, snapshot, snapshotRequest, bar, barCheckpoint, health, sessionEvent] + featureFlags
            + [featureFlagChange] + serverMessages + [control, clientRequest, symbolLease, upstreamChange]
    }

    static var trade: Xy_Md_V1_Trade {
        var trade = Xy_Md_V1_Trade()
        trade.exchange = 4
        trade.price = 450.25
        trade.size = 100
        trade.tradeID = "t1"
        trade.conditions = [14, 41]
        trade.tape = .c
        return trade
    }

    static var quote: Xy_Md_V1_Quote {
        var quote = Xy_Md_V1_Quote()
        quote.bidExchange = 11
        quote.bidPrice = 450.24
        quote.bidSize = 300
        quote.askExchange = 12
        quote.askPrice = 450.26
        quote.askSize = 200
        quote.conditions = [1]
        quote.tape = .a
        return quote
    }

    static var aggregate: Xy_Md_V1_Aggregate {
        var aggregate = Xy_Md_V1_Aggregate()
        aggregate.open = 449.5
        aggregate.high = 451
        aggregate.low = 449.25
        aggregate.close = 450.75
        aggregate.volume = 12_345
        aggregate.vwap = 450.1
        aggregate.dayVolume = 9_876_543
        aggregate.startTimeNs = time - 60_000_000_000
        aggregate.endTimeNs = time
        return aggregate
    }

    static var marketEvents: [Xy_Md_V1_MarketEvent] {
        var event = Xy_Md_V1_MarketEvent()
        event.symbol = "BRK.B"
        event.vendorSequence = 42
        event.eventTimeNs = time
        event.receiveTimeNs = time + 350_000
        event.source = "polygon"
        var withTrade = event
        withTrade.trade = trade
        var withQuote = event
        withQuote.quote = quote
        var withAggregate = event
        withAggregate.aggregate = aggregate
        return [withTrade, withQuote, withAggregate]
    }

    static var symbolTick: Xy_Md_V1_SymbolTick {
        var tick = Xy_Md_V1_SymbolTick()
        tick.symbol = "AAPL"
        tick.last = 189.5
        tick.lastSize = 100
        tick.bid = 189.49
        tick.bidSize = 500
        tick.ask = 189.51
        tick.askSize = 400
        tick.change = -1.25
        tick.changePercent = -0.655
        tick.volume = 51_234_567
        tick.eventTimeNs = time
        tick.open = 190.1
        tick.high = 191.25
        tick.low = 188.75
        tick.previousClose = 190.75
        tick.tradeTimeNs = time - 2_000
        tick.tradeSequence = 4_211
        tick.quoteTimeNs = time
        tick.quoteSequence = 4_212
        tick.aggregateTimeNs = time - 1_000_000_000
        tick.aggregateSequence = 17
        return tick
    }

    static var tickBatch: Xy_Md_V1_TickBatch {
        var batch = Xy_Md_V1_TickBatch()
        batch.group = "demo"
        batch.seq = 1_000_001
        batch.firstSeq = 999_998
        batch.publishTimeNs = time
        batch.epoch = epoch
        var second = symbolTick
        second.symbol = "MSFT"
        batch.ticks = [symbolTick, second]
        return batch
    }

    static var snapshot: Xy_Md_V1_Snapshot {
        var snapshot = Xy_Md_V1_Snapshot()
        snapshot.group = "demo"
        snapshot.seq = 1_000_001
        snapshot.timeNs = time
        snapshot.ticks = [symbolTick]
        snapshot.epoch = epoch
        return snapshot
    }

    static var snapshotRequest: Xy_Md_V1_SnapshotRequest {
        var request = Xy_Md_V1_SnapshotRequest()
        request.group = "demo"
        request.symbols = ["AAPL", "X:BTCUSD"]
        return request
    }

    static var bar: Xy_Md_V1_Bar {
        var bar = Xy_Md_V1_Bar()
        bar.symbol = "SPY"
        bar.interval = .oneMinute
        bar.startTimeNs = time - 60_000_000_000
        bar.endTimeNs = time
        bar.open = 450
        bar.high = 451.5
        bar.low = 449.75
        bar.close = 451
        bar.volume = 1_234_567
        bar.vwap = 450.6
        bar.tradeCount = 8_765
        bar.sealed = true
        bar.openTimeNs = time - 59_000_000_000
        bar.closeTimeNs = time - 1_000_000
        return bar
    }

    static var barCheckpoint: Xy_Md_V1_BarCheckpoint {
        var checkpoint = Xy_Md_V1_BarCheckpoint()
        checkpoint.group = "demo"
        checkpoint.timeNs = time
        var open = bar
        open.sealed = false
        checkpoint.bars = [bar, open]
        return checkpoint
    }

    static var health: Xy_Exec_V1_Health {
        var health = Xy_Exec_V1_Health()
        health.service = "xy-gateway"
        health.instance = "gw-1:4242"
        health.status = .degraded
        health.version = "0.1.0"
        health.uptimeNs = 3_600_000_000_000
        health.timeNs = time
        health.details = ["nats": "connected", "clients": "12"]
        health.intervalNs = 5_000_000_000
        return health
    }

    static var symbolLease: Xy_Ctl_V1_SymbolLease {
        var lease = Xy_Ctl_V1_SymbolLease()
        lease.instance = "gw-1"
        lease.symbols = ["AAPL", "BRK.B", "IBM"]
        lease.issuedAtNs = time
        lease.expiresAtNs = time + 30_000_000_000
        lease.revision = 42
        return lease
    }

    static var upstreamChange: Xy_Ctl_V1_UpstreamChange {
        var change = Xy_Ctl_V1_UpstreamChange()
        change.added = ["IBM"]
        change.removed = ["NVDA", "TSLA"]
        change.refused = ["ZZZZ"]
        change.streamed = 1000
        change.quota = 1000
        change.timeNs = time
        change.instance = "realtime-1"
        change.refusedCount = 1
        return change
    }

    static var sessionEvent: Xy_Session_V1_SessionEvent {
        var event = Xy_Session_V1_SessionEvent()
        event.kind = .disconnected
        event.sessionID = "s-0001"
        event.tokenSubject = "user-42"
        event.remoteAddress = "203.0.113.7:51000"
        event.timeNs = time
        event.reason = "XYW003 slow consumer"
        event.gatewayInstance = "gw-1"
        return event
    }

    static var control: Xy_Gateway_V1_Control {
        var control = Xy_Gateway_V1_Control()
        control.id = "7"
        control.code = "XYW004"
        control.message = "NATS unavailable"
        control.state = "degraded"
        return control
    }

    static var clientRequest: Xy_Gateway_V1_ClientRequest {
        var request = Xy_Gateway_V1_ClientRequest()
        request.op = .subscribe
        request.subject = "xy.md.tick.demo"
        request.id = "r1"
        return request
    }

    /// One gateway envelope per `data` case.
    static var serverMessages: [Xy_Gateway_V1_ServerMessage] {
        var base = Xy_Gateway_V1_ServerMessage()
        base.type = .tick
        base.subject = "xy.md.tick.demo"
        base.seq = 42
        base.tsNs = time
        base.source = "gw-1"
        base.epoch = epoch
        var withTick = base
        withTick.tick = tickBatch
        var withSnapshot = base
        withSnapshot.type = .snapshot
        withSnapshot.snapshot = snapshot
        var withBar = base
        withBar.type = .bar
        withBar.bar = bar
        var withControl = base
        withControl.type = .status
        withControl.control = control
        return [withTick, withSnapshot, withBar, withControl]
    }

    static var featureFlags: [Xy_Flags_V1_FeatureFlag] {
        var flag = Xy_Flags_V1_FeatureFlag()
        flag.name = "tick_interval"
        flag.updatedBy = "admin@example.com"
        flag.updatedAtNs = time
        var boolFlag = flag
        boolFlag.boolValue = true
        var intFlag = flag
        intFlag.intValue = -33
        var doubleFlag = flag
        doubleFlag.doubleValue = 0.5
        var stringFlag = flag
        stringFlag.stringValue = "conflate"
        return [boolFlag, intFlag, doubleFlag, stringFlag]
    }

    /// A change from one value to another (created and deleted records leave `old` or `new` out).
    static var featureFlagChange: Xy_Flags_V1_FeatureFlagChange {
        var change = Xy_Flags_V1_FeatureFlagChange()
        change.name = "tick_interval"
        change.old = featureFlags[1]
        var new = featureFlags[1]
        new.intValue = 50
        change.new = new
        change.changedBy = "root"
        change.timeNs = time
        return change
    }
}

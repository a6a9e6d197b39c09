import XYContracts

/// The parts of a `MarketEvent` that `MarketState` and `BarBuilder` use, as plain values: what the
/// aggregator reads straight from an event's wire bytes (``init(wire:symbol:)``) instead of
/// building the generated message, whose strings, arrays and oneof storage cost more than the fold.
public struct MarketEventFields: Hashable, Sendable {
    /// Which event it is; nil when the message carries none.
    public enum Kind: Hashable, Sendable {
        case trade
        case quote
        case aggregate
    }

    public var kind: Kind?
    public var vendorSequence: UInt64 = 0
    public var eventTimeNs: Int64 = 0
    /// Trade.
    public var price: Double = 0
    public var size: Double = 0
    /// Quote.
    public var bidPrice: Double = 0
    public var bidSize: Double = 0
    public var askPrice: Double = 0
    public var askSize: Double = 0
    /// Aggregate.
    public var open: Double = 0
    public var high: Double = 0
    public var low: Double = 0
    public var close: Double = 0
    public var dayVolume: Double = 0

    public init() {}

    /// The fields of a decoded message.
    public init(_ event: Xy_Md_V1_MarketEvent) {
        vendorSequence = event.vendorSequence
        eventTimeNs = event.eventTimeNs
        switch event.event {
        case .trade(let trade)?:
            kind = .trade
            price = trade.price
            size = trade.size
        case .quote(let quote)?:
            kind = .quote
            bidPrice = quote.bidPrice
            bidSize = quote.bidSize
            askPrice = quote.askPrice
            askSize = quote.askSize
        case .aggregate(let aggregate)?:
            kind = .aggregate
            open = aggregate.open
            high = aggregate.high
            low = aggregate.low
            close = aggregate.close
            dayVolume = aggregate.dayVolume
        case nil:
            kind = nil
        }
    }

    /// Reads a `MarketEvent` from its Protobuf wire bytes, field numbers as in
    /// `Contracts/xy/md/v1/market_event.proto`. Nil when the bytes are malformed or the event's
    /// symbol is not `symbol` (the subscription's, given as UTF-8): such an event is invalid.
    /// Fields it does not need (source, receive time, trade id, conditions, …) are skipped.
    public init?(wire bytes: UnsafeRawBufferPointer, symbol: UnsafeRawBufferPointer) {
        var reader = ProtobufWireReader(bytes, bytes.startIndex..<bytes.endIndex)
        var symbolMatches = false
        while !reader.atEnd {
            guard let (field, type) = reader.key() else { return nil }
            switch (field, type) {
            case (1, 2):
                guard let range = reader.lengthDelimited() else { return nil }
                symbolMatches = UnsafeRawBufferPointer(rebasing: bytes[range]).elementsEqual(symbol)
            case (2, 0):
                guard let value = reader.varint() else { return nil }
                vendorSequence = value
            case (3, 0):
                guard let value = reader.varint() else { return nil }
                eventTimeNs = Int64(bitPattern: value)
            case (10, 2), (11, 2), (12, 2):
                guard let range = reader.lengthDelimited(), readEvent(field, ProtobufWireReader(bytes, range)) else { return nil }
            default:
                guard reader.skip(type) else { return nil }
            }
        }
        guard symbolMatches, !symbol.isEmpty else { return nil }
    }

    /// The oneof member, as Protobuf decoding reads it: another member replaces the one read
    /// before, the same member again is merged into it.
    private mutating func readEvent(_ field: UInt64, _ inner: ProtobufWireReader) -> Bool {
        var reader = inner
        let member: Kind = field == 10 ? .trade : field == 11 ? .quote : .aggregate
        if kind != member {
            self = MarketEventFields(sequence: vendorSequence, timeNs: eventTimeNs)
            kind = member
        }
        while !reader.atEnd {
            guard let (number, type) = reader.key() else { return false }
            guard type == 1 else {
                guard reader.skip(type) else { return false }
                continue
            }
            guard let value = reader.double() else { return false }
            switch (field, number) {
            case (10, 2): price = value
            case (10, 3): size = value
            case (11, 2): bidPrice = value
            case (11, 3): bidSize = value
            case (11, 5): askPrice = value
            case (11, 6): askSize = value
            case (12, 1): open = value
            case (12, 2): high = value
            case (12, 3): low = value
            case (12, 4): close = value
            case (12, 7): dayVolume = value
            default: break
            }
        }
        return true
    }

    private init(sequence: UInt64, timeNs: Int64) {
        vendorSequence = sequence
        eventTimeNs = timeNs
    }
}

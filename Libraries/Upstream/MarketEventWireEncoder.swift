import NIOCore
import XYContracts

/// Writes a normalized `xy.md.v1.MarketEvent` in Protobuf wire format straight from a
/// ``VendorEvent``, without building the generated message (whose heap storage and reflection-based
/// serializer cost more than the rest of the proxy's per-event work).
///
/// Field numbers follow `Contracts/xy/md/v1/market_event.proto`; proto3 defaults (0, "", empty) are
/// omitted as the generated code omits them. Tests check every field against SwiftProtobuf's decoder.
public struct MarketEventWireEncoder: Sendable {
    /// Which feed the events came from (`source`, field 5).
    public let source: String
    private var scratch: ByteBuffer

    public init(source: String) {
        self.source = source
        self.scratch = ByteBufferAllocator().buffer(capacity: 128)
    }

    /// Replaces `out`'s contents with the encoded event.
    public mutating func encode(_ event: VendorEvent, receiveTimeNanoseconds: Int64, into out: inout ByteBuffer) {
        out.clear()
        Self.string(1, event.symbol, &out)
        Self.varint(2, event.sequence, &out)
        Self.varint(3, UInt64(bitPattern: event.timeMilliseconds &* 1_000_000), &out)
        Self.varint(4, UInt64(bitPattern: receiveTimeNanoseconds), &out)
        Self.string(5, source, &out)
        scratch.clear()
        let field: UInt64
        switch event.kind {
        case .trade:
            field = 10
            Self.varint(1, Self.int32(event.exchange), &scratch)
            Self.double(2, event.price, &scratch)
            Self.double(3, event.size, &scratch)
            Self.string(4, event.tradeID, &scratch)
            Self.packed(5, event.conditions, &scratch)
            Self.varint(6, Self.int32(Self.tape(event.tape)), &scratch)
        case .quote:
            field = 11
            Self.varint(1, Self.int32(event.bidExchange), &scratch)
            Self.double(2, event.bidPrice, &scratch)
            Self.double(3, event.bidSize, &scratch)
            Self.varint(4, Self.int32(event.askExchange), &scratch)
            Self.double(5, event.askPrice, &scratch)
            Self.double(6, event.askSize, &scratch)
            Self.packed(7, event.conditions, &scratch)
            Self.varint(8, Self.int32(Self.tape(event.tape)), &scratch)
        case .secondAggregate, .minuteAggregate:
            field = 12
            Self.double(1, event.open, &scratch)
            Self.double(2, event.high, &scratch)
            Self.double(3, event.low, &scratch)
            Self.double(4, event.close, &scratch)
            Self.double(5, event.volume, &scratch)
            Self.double(6, event.vwap, &scratch)
            Self.double(7, event.dayVolume, &scratch)
            Self.varint(8, UInt64(bitPattern: event.startMilliseconds &* 1_000_000), &scratch)
            Self.varint(9, UInt64(bitPattern: event.endMilliseconds &* 1_000_000), &scratch)
        }
        // A oneof member is written even when empty: its presence is the information.
        Self.rawVarint(field << 3 | 2, &out)
        Self.rawVarint(UInt64(scratch.readableBytes), &out)
        out.writeImmutableBuffer(scratch)
    }

    /// The same event as the generated message (slow path: tests and tools).
    public static func message(_ event: VendorEvent, receiveTimeNanoseconds: Int64, source: String) -> Xy_Md_V1_MarketEvent {
        var message = Xy_Md_V1_MarketEvent()
        message.symbol = event.symbol
        message.vendorSequence = event.sequence
        message.eventTimeNs = event.timeMilliseconds &* 1_000_000
        message.receiveTimeNs = receiveTimeNanoseconds
        message.source = source
        switch event.kind {
        case .trade:
            var trade = Xy_Md_V1_Trade()
            trade.exchange = event.exchange
            trade.price = event.price
            trade.size = event.size
            trade.tradeID = event.tradeID
            trade.conditions = event.conditions
            trade.tape = Xy_Md_V1_Tape(rawValue: Int(tape(event.tape))) ?? .unspecified
            message.trade = trade
        case .quote:
            var quote = Xy_Md_V1_Quote()
            quote.bidExchange = event.bidExchange
            quote.bidPrice = event.bidPrice
            quote.bidSize = event.bidSize
            quote.askExchange = event.askExchange
            quote.askPrice = event.askPrice
            quote.askSize = event.askSize
            quote.conditions = event.conditions
            quote.tape = Xy_Md_V1_Tape(rawValue: Int(tape(event.tape))) ?? .unspecified
            message.quote = quote
        case .secondAggregate, .minuteAggregate:
            var aggregate = Xy_Md_V1_Aggregate()
            aggregate.open = event.open
            aggregate.high = event.high
            aggregate.low = event.low
            aggregate.close = event.close
            aggregate.volume = event.volume
            aggregate.vwap = event.vwap
            aggregate.dayVolume = event.dayVolume
            aggregate.startTimeNs = event.startMilliseconds &* 1_000_000
            aggregate.endTimeNs = event.endMilliseconds &* 1_000_000
            message.aggregate = aggregate
        }
        return message
    }

    /// The vendor's tape id (1 = A, 2 = B, 3 = C) as the contract's enum value; anything else unspecified.
    static func tape(_ value: Int32) -> Int32 {
        (1...3).contains(value) ? value : 0
    }

    @inline(__always)
    static func int32(_ value: Int32) -> UInt64 {
        UInt64(bitPattern: Int64(value))
    }

    @inline(__always)
    static func rawVarint(_ value: UInt64, _ out: inout ByteBuffer) {
        var value = value
        while value >= 0x80 {
            out.writeInteger(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        out.writeInteger(UInt8(value))
    }

    @inline(__always)
    static func varint(_ field: UInt64, _ value: UInt64, _ out: inout ByteBuffer) {
        guard value != 0 else { return }
        rawVarint(field << 3, &out)
        rawVarint(value, &out)
    }

    @inline(__always)
    static func double(_ field: UInt64, _ value: Double, _ out: inout ByteBuffer) {
        // As the generated code: 0 and -0 are the default and are not written.
        guard value != 0 else { return }
        rawVarint(field << 3 | 1, &out)
        out.writeInteger(value.bitPattern, endianness: .little)
    }

    @inline(__always)
    static func string(_ field: UInt64, _ value: String, _ out: inout ByteBuffer) {
        guard !value.isEmpty else { return }
        rawVarint(field << 3 | 2, &out)
        rawVarint(UInt64(value.utf8.count), &out)
        out.writeString(value)
    }

    static func packed(_ field: UInt64, _ values: [Int32], _ out: inout ByteBuffer) {
        guard !values.isEmpty else { return }
        var length: UInt64 = 0
        for value in values {
            var raw = int32(value)
            repeat {
                length += 1
                raw >>= 7
            } while raw > 0
        }
        rawVarint(field << 3 | 2, &out)
        rawVarint(length, &out)
        for value in values {
            rawVarint(int32(value), &out)
        }
    }
}

import NIOCore
import PolygonSim
import SwiftProtobuf
import Testing
import Upstream
import XYContracts

@Suite("MarketEvent wire encoder")
struct MarketEventWireEncoderTests {
    @Test("hand-encoded bytes decode (SwiftProtobuf) to the same message as the generated code builds")
    func matchesGeneratedMessage() throws {
        var market = SimMarket(symbols: ["AAPL", "X:BTCUSD"], seed: 5)
        let frame = SimEventEncoder.frame((0..<400).map { _ in market.next(timeMilliseconds: 1_700_000_000_123) })
        var encoder = MarketEventWireEncoder(source: "sim")
        var buffer = ByteBuffer()
        var checked = 0
        for item in PolygonFrameDecoder.decode(frame) {
            guard case .event(let event) = item else { continue }
            encoder.encode(event, receiveTimeNanoseconds: 1_700_000_000_200_000_000, into: &buffer)
            let decoded = try Xy_Md_V1_MarketEvent(serializedBytes: Array(buffer.readableBytesView))
            let expected = MarketEventWireEncoder.message(event, receiveTimeNanoseconds: 1_700_000_000_200_000_000, source: "sim")
            #expect(decoded == expected)
            // Byte-for-byte the generated serializer's output too.
            let generated: [UInt8] = try expected.serializedBytes()
            #expect(Array(buffer.readableBytesView) == generated)
            checked += 1
        }
        #expect(checked == 400)
    }

    @Test("negative values and empty fields")
    func edgeValues() throws {
        var event = VendorEvent(kind: .quote)
        event.symbol = "A"
        event.bidExchange = -1
        event.bidPrice = -0.5
        event.tape = 9
        var encoder = MarketEventWireEncoder(source: "")
        var buffer = ByteBuffer()
        encoder.encode(event, receiveTimeNanoseconds: 0, into: &buffer)
        let decoded = try Xy_Md_V1_MarketEvent(serializedBytes: Array(buffer.readableBytesView))
        #expect(decoded.quote.bidExchange == -1)
        #expect(decoded.quote.bidPrice == -0.5)
        #expect(decoded.quote.tape == .unspecified)
        #expect(decoded.source.isEmpty)
        #expect(decoded == MarketEventWireEncoder.message(event, receiveTimeNanoseconds: 0, source: ""))
    }
}

import Foundation
import Gateway
import NIOCore
import Testing
import XYContracts

/// The JSON envelope's numbers as a browser reads them.
@Suite("JSON envelope")
struct EnvelopeJSONTests {
    static func object(_ buffer: ByteBuffer) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any])
    }

    @Test("epoch is a decimal string in the envelope and in data, exact beyond 2^53; seq and times stay numbers")
    func epochAsString() throws {
        var batch = Xy_Md_V1_TickBatch()
        batch.group = "demo"
        batch.seq = 42
        batch.epoch = 1_764_810_000_987_654_321
        batch.publishTimeNs = 1_764_810_001_000_000_000
        var tick = Xy_Md_V1_SymbolTick()
        tick.symbol = "AAA"
        tick.eventTimeNs = -1_500_000
        batch.ticks = [tick]
        let envelope = try Self.object(EnvelopeJSON.tick(batch, subject: "xy.md.tick.demo", source: "gw", nowNs: 0))
        #expect(envelope["epoch"] as? String == "1764810000987654321")
        #expect((envelope["seq"] as? NSNumber)?.uint64Value == 42)
        let data = try #require(envelope["data"] as? [String: Any])
        #expect(data["epoch"] as? String == "1764810000987654321")
        #expect((data["publishTime"] as? NSNumber)?.int64Value == 1_764_810_001_000)
        #expect(((data["ticks"] as? [[String: Any]])?.first?["time"] as? NSNumber)?.int64Value == -1, "negative numbers keep their sign")
        let keys = String(buffer: EnvelopeJSON.tick(batch, subject: "s", source: "gw", nowNs: 0))
        #expect(keys.hasPrefix(#"{"type":"tick","subject":"s","seq":42,"epoch":"1764810000987654321","ts":"#), "ARCHITECTURE.md's order")

        var snapshot = Xy_Md_V1_Snapshot()
        snapshot.group = "demo"
        snapshot.seq = 0
        snapshot.epoch = UInt64.max
        let snapshotEnvelope = try Self.object(EnvelopeJSON.snapshot(snapshot, subject: "xy.md.tick.demo", source: "gw", nowNs: 0))
        #expect(snapshotEnvelope["epoch"] as? String == "18446744073709551615")
        #expect((snapshotEnvelope["data"] as? [String: Any])?["epoch"] as? String == "18446744073709551615")
        #expect((snapshotEnvelope["seq"] as? NSNumber)?.uint64Value == 0)
    }

    @Test("the binary envelope carries the epoch of its tick or snapshot")
    func protoEpoch() throws {
        var batch = Xy_Md_V1_TickBatch()
        batch.seq = 3
        batch.epoch = 99
        var frame = MessageEncoder(source: "gw").tickFrame(batch, subject: "xy.md.tick.demo", nowNs: 0, .proto)
        // A server frame: FIN + binary, then a 7-bit length (the message is short).
        #expect(frame.readInteger(as: UInt8.self) == 0x82)
        let length = frame.readInteger(as: UInt8.self) ?? 0
        let bytes = frame.readBytes(length: Int(length)) ?? []
        #expect(bytes.count == Int(length) && frame.readableBytes == 0)
        let message = try Xy_Gateway_V1_ServerMessage(serializedBytes: bytes)
        #expect(message.epoch == 99 && message.seq == 3 && message.tick.epoch == 99)
    }
}

import NIOCore
import XYContracts
import XYCore

/// The one envelope every server message has on the JSON subprotocol (`xy.v1.json`):
/// `{"type","subject","seq","epoch","ts","source","data"}`, written straight into a `ByteBuffer`
/// once per message and shared by every client that receives it.
///
/// Times inside `data` are Unix milliseconds: nanoseconds do not survive a JavaScript number
/// (above 2^53), and a browser draws in milliseconds anyway. `epoch` (the producer run `seq`
/// belongs to, 64-bit nanoseconds) is an identity, compared and never drawn, so it is written as
/// a decimal string, exact in JavaScript; "0" where there is none (bars).
public enum EnvelopeJSON {
    /// A tick batch: the symbols that changed, with the `seq` range it covers.
    public static func tick(_ batch: Xy_Md_V1_TickBatch, subject: String, source: String, nowNs: Int64) -> ByteBuffer {
        var out = ByteBuffer()
        out.reserveCapacity(128 + batch.ticks.count * 220)
        head(&out, type: "tick", subject: subject, seq: batch.seq, epoch: batch.epoch, nowNs: nowNs, source: source)
        out.writeStaticString("{\"group\":")
        writeString(batch.group, to: &out)
        out.writeStaticString(",\"seq\":")
        writeInteger(batch.seq, to: &out)
        out.writeStaticString(",\"epoch\":\"")
        writeInteger(batch.epoch, to: &out)
        out.writeStaticString("\"")
        out.writeStaticString(",\"firstSeq\":")
        writeInteger(batch.firstSeq == 0 ? batch.seq : batch.firstSeq, to: &out)
        out.writeStaticString(",\"publishTime\":")
        writeInteger(batch.publishTimeNs / 1_000_000, to: &out)
        out.writeStaticString(",\"ticks\":")
        ticks(batch.ticks, to: &out)
        out.writeStaticString("}}")
        return out
    }

    /// A snapshot: every symbol of the group, as of `seq`.
    public static func snapshot(_ snapshot: Xy_Md_V1_Snapshot, subject: String, source: String, nowNs: Int64) -> ByteBuffer {
        var out = ByteBuffer()
        out.reserveCapacity(128 + snapshot.ticks.count * 220)
        head(&out, type: "snapshot", subject: subject, seq: snapshot.seq, epoch: snapshot.epoch, nowNs: nowNs, source: source)
        out.writeStaticString("{\"group\":")
        writeString(snapshot.group, to: &out)
        out.writeStaticString(",\"seq\":")
        writeInteger(snapshot.seq, to: &out)
        out.writeStaticString(",\"epoch\":\"")
        writeInteger(snapshot.epoch, to: &out)
        out.writeStaticString("\"")
        out.writeStaticString(",\"time\":")
        writeInteger(snapshot.timeNs / 1_000_000, to: &out)
        out.writeStaticString(",\"ticks\":")
        ticks(snapshot.ticks, to: &out)
        out.writeStaticString("}}")
        return out
    }

    /// A 1-minute bar of `xy.md.bar.<SYMBOL>` (closed, or amended by a late trade).
    public static func bar(_ bar: Xy_Md_V1_Bar, subject: String, source: String, nowNs: Int64) -> ByteBuffer {
        var out = ByteBuffer()
        out.reserveCapacity(320)
        head(&out, type: "bar", subject: subject, seq: 0, epoch: 0, nowNs: nowNs, source: source)
        out.writeStaticString("{\"symbol\":")
        writeString(bar.symbol, to: &out)
        out.writeStaticString(",\"start\":")
        writeInteger(bar.startTimeNs / 1_000_000, to: &out)
        out.writeStaticString(",\"end\":")
        writeInteger(bar.endTimeNs / 1_000_000, to: &out)
        member("open", bar.open, &out)
        member("high", bar.high, &out)
        member("low", bar.low, &out)
        member("close", bar.close, &out)
        member("volume", bar.volume, &out)
        member("vwap", bar.vwap, &out)
        out.writeStaticString(",\"trades\":")
        writeInteger(bar.tradeCount, to: &out)
        out.writeStaticString(bar.sealed ? ",\"sealed\":true}}" : ",\"sealed\":false}}")
        return out
    }

    /// Control messages (`subscribed`, `unsubscribed`, `pong`, `status`, `error`): `data` is an
    /// object of string members, e.g. `["code": "XYW002", "message": "…"]`. An `error` also
    /// carries `code` and `message` at the top level (ARCHITECTURE.md's error shape).
    public static func control(type: String, subject: String?, fields: [(String, String)], source: String, nowNs: Int64) -> ByteBuffer {
        var out = ByteBuffer()
        out.writeStaticString("{\"type\":")
        writeString(type, to: &out)
        if let subject {
            out.writeStaticString(",\"subject\":")
            writeString(subject, to: &out)
        }
        if type == "error" {
            for (key, value) in fields where key == "code" || key == "message" {
                out.writeStaticString(",")
                writeString(key, to: &out)
                out.writeStaticString(":")
                writeString(value, to: &out)
            }
        }
        out.writeStaticString(",\"ts\":")
        writeString(timestamp(nowNs), to: &out)
        out.writeStaticString(",\"source\":")
        writeString(source, to: &out)
        out.writeStaticString(",\"data\":{")
        var first = true
        for (key, value) in fields {
            if !first { out.writeStaticString(",") }
            first = false
            writeString(key, to: &out)
            out.writeStaticString(":")
            writeString(value, to: &out)
        }
        out.writeStaticString("}}")
        return out
    }

    private static func head(_ out: inout ByteBuffer, type: StaticString, subject: String, seq: UInt64, epoch: UInt64, nowNs: Int64, source: String) {
        out.writeStaticString("{\"type\":\"")
        out.writeStaticString(type)
        out.writeStaticString("\",\"subject\":")
        writeString(subject, to: &out)
        out.writeStaticString(",\"seq\":")
        writeInteger(seq, to: &out)
        out.writeStaticString(",\"epoch\":\"")
        writeInteger(epoch, to: &out)
        out.writeStaticString("\"")
        out.writeStaticString(",\"ts\":")
        writeString(timestamp(nowNs), to: &out)
        out.writeStaticString(",\"source\":")
        writeString(source, to: &out)
        out.writeStaticString(",\"data\":")
    }

    private static func ticks(_ ticks: [Xy_Md_V1_SymbolTick], to out: inout ByteBuffer) {
        out.writeStaticString("[")
        for (index, tick) in ticks.enumerated() {
            if index > 0 { out.writeStaticString(",") }
            out.writeStaticString("{\"symbol\":")
            writeString(tick.symbol, to: &out)
            member("last", tick.last, &out)
            member("lastSize", tick.lastSize, &out)
            member("bid", tick.bid, &out)
            member("bidSize", tick.bidSize, &out)
            member("ask", tick.ask, &out)
            member("askSize", tick.askSize, &out)
            member("change", tick.change, &out)
            member("changePercent", tick.changePercent, &out)
            member("volume", tick.volume, &out)
            member("open", tick.open, &out)
            member("high", tick.high, &out)
            member("low", tick.low, &out)
            member("previousClose", tick.previousClose, &out)
            out.writeStaticString(",\"time\":")
            writeInteger(tick.eventTimeNs / 1_000_000, to: &out)
            out.writeStaticString("}")
        }
        out.writeStaticString("]")
    }

    private static func member(_ name: StaticString, _ value: Double, _ out: inout ByteBuffer) {
        out.writeStaticString(",\"")
        out.writeStaticString(name)
        out.writeStaticString("\":")
        if value.isFinite {
            // Swift's description is the shortest text that reads back as the same double, and valid JSON.
            out.writeString(value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : value.description)
        } else {
            out.writeStaticString("null")
        }
    }

    /// Decimal digits written straight into the buffer (no `String` built per number).
    static func writeInteger<I: FixedWidthInteger>(_ value: I, to out: inout ByteBuffer) {
        if value < 0 { out.writeStaticString("-") }
        let magnitude = value.magnitude
        var digits = 1
        var rest = magnitude
        while rest >= 10 {
            rest /= 10
            digits += 1
        }
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: digits) { bytes in
            var rest = magnitude
            for index in stride(from: digits - 1, through: 0, by: -1) {
                bytes[index] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
            }
            return digits
        }
    }

    /// A JSON string with the escapes RFC 8259 requires; subjects and symbols are ASCII, but a
    /// message text may not be.
    static func writeString(_ text: String, to out: inout ByteBuffer) {
        JSONText.writeQuoted(text) { out.writeBytes($0) }
    }

    /// `ts`: UTC ISO 8601 with milliseconds, as the log lines write it.
    static func timestamp(_ nanoseconds: Int64) -> String {
        ISO8601.string(nanoseconds: nanoseconds)
    }
}

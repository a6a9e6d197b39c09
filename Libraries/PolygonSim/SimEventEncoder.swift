/// Writes simulated events as the vendor's JSON objects (field names of the Polygon/Massive
/// stocks feed) straight into bytes, without Foundation, so the simulator can outrun the proxy
/// it is measuring.
public enum SimEventEncoder {
    /// Appends one event object, e.g.
    /// `{"ev":"T","sym":"SPY","x":1,"i":"t1","z":3,"p":450.25,"s":100,"c":[14,41],"t":1700000000000,"q":42}`.
    public static func append(_ event: SimEvent, to out: inout [UInt8]) {
        literal(#"{"ev":""#, &out)
        switch event.channel {
        case .trade: literal("T", &out)
        case .quote: literal("Q", &out)
        case .secondAggregate: literal("A", &out)
        case .minuteAggregate: literal("AM", &out)
        }
        literal(#"","sym":""#, &out)
        out.append(contentsOf: event.symbol.utf8)
        out.append(UInt8(ascii: "\""))
        switch event.channel {
        case .trade:
            field("x", event.exchange, &out)
            literal(#","i":""#, &out)
            out.append(contentsOf: event.tradeID.utf8)
            out.append(UInt8(ascii: "\""))
            field("z", event.tape, &out)
            key("p", &out)
            appendFixed(event.priceCents, decimals: 2, &out)
            field("s", event.size, &out)
            conditions(event.conditions, &out)
            field("t", event.timeMilliseconds, &out)
            field("q", event.sequence, &out)
        case .quote:
            field("bx", event.bidExchange, &out)
            key("bp", &out)
            appendFixed(event.bidCents, decimals: 2, &out)
            field("bs", event.bidSize, &out)
            field("ax", event.askExchange, &out)
            key("ap", &out)
            appendFixed(event.askCents, decimals: 2, &out)
            field("as", event.askSize, &out)
            conditions(event.conditions, &out)
            field("t", event.timeMilliseconds, &out)
            field("z", event.tape, &out)
            field("q", event.sequence, &out)
        case .secondAggregate, .minuteAggregate:
            field("v", event.volume, &out)
            field("av", event.dayVolume, &out)
            key("op", &out)
            appendFixed(event.dayOpenCents, decimals: 2, &out)
            key("vw", &out)
            appendFixed(event.vwapTenThousandths, decimals: 4, &out)
            key("o", &out)
            appendFixed(event.openCents, decimals: 2, &out)
            key("c", &out)
            appendFixed(event.closeCents, decimals: 2, &out)
            key("h", &out)
            appendFixed(event.highCents, decimals: 2, &out)
            key("l", &out)
            appendFixed(event.lowCents, decimals: 2, &out)
            key("a", &out)
            appendFixed(event.dayVWAPTenThousandths, decimals: 4, &out)
            field("z", event.averageSize, &out)
            field("s", event.startMilliseconds, &out)
            field("e", event.endMilliseconds, &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    /// One whole frame (a JSON array) of events.
    public static func frame(_ events: [SimEvent]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "[")]
        for (index, event) in events.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            append(event, to: &out)
        }
        out.append(UInt8(ascii: "]"))
        return out
    }

    private static func key(_ name: StaticString, _ out: inout [UInt8]) {
        out.append(UInt8(ascii: ","))
        out.append(UInt8(ascii: "\""))
        literal(name, &out)
        out.append(UInt8(ascii: "\""))
        out.append(UInt8(ascii: ":"))
    }

    /// Appends a literal without going through `String` (whose UTF-8 copy measured at a third of
    /// the simulator's time when it ran the proxy benchmark).
    @inline(__always)
    private static func literal(_ text: StaticString, _ out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    private static func field(_ name: StaticString, _ value: some BinaryInteger, _ out: inout [UInt8]) {
        key(name, &out)
        appendInteger(Int64(value), &out)
    }

    private static func conditions(_ values: [Int], _ out: inout [UInt8]) {
        guard !values.isEmpty else { return }
        key("c", &out)
        out.append(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            appendInteger(Int64(value), &out)
        }
        out.append(UInt8(ascii: "]"))
    }

    static func appendInteger(_ value: Int64, _ out: inout [UInt8]) {
        if value < 0 {
            out.append(UInt8(ascii: "-"))
        }
        var magnitude = value.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            for position in stride(from: count - 1, through: 0, by: -1) {
                out.append(buffer[position])
            }
        }
    }

    /// `12345` with 2 decimals → `123.45` (trailing zeros kept, as the value is exact).
    static func appendFixed(_ value: Int64, decimals: Int, _ out: inout [UInt8]) {
        var scale: Int64 = 1
        for _ in 0..<decimals { scale *= 10 }
        if value < 0 { out.append(UInt8(ascii: "-")) }
        let magnitude = Int64(value.magnitude)
        appendInteger(magnitude / scale, &out)
        out.append(UInt8(ascii: "."))
        var fraction = magnitude % scale
        var divisor = scale / 10
        while divisor > 0 {
            out.append(UInt8(ascii: "0") + UInt8(fraction / divisor))
            fraction %= divisor
            divisor /= 10
        }
    }
}

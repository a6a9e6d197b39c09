/// Writes simulated events as the vendor's JSON objects (field names of the Polygon/Massive
/// stocks feed) straight into bytes, without Foundation, so the simulator can outrun the proxy
/// it is measuring.
public enum SimEventEncoder {
    /// Appends one event object, e.g.
    /// `{"ev":"T","sym":"SPY","x":1,"i":"t1","z":3,"p":450.25,"s":100,"c":[14,41],"t":1700000000000,"q":42}`.
    ///
    /// The object is written through a raw pointer into capacity reserved for its longest form:
    /// appending byte by byte to the array measured at half of the simulator's time, most of it
    /// uniqueness checks, when the simulator fed the proxy benchmark.
    public static func append(_ event: SimEvent, to out: inout [UInt8]) {
        let bound = 640 + event.symbol.utf8.count + event.tradeID.utf8.count + 21 * event.conditions.count
        let start = out.count
        out.reserveCapacity(start + bound)
        // Grow to the bound, write, then trim: one uniqueness check per event instead of per byte.
        out.append(contentsOf: repeatElement(0, count: bound))
        let written = out.withUnsafeMutableBufferPointer { buffer in
            var writer = Writer(buffer.baseAddress! + start)
            writer.event(event)
            return writer.count
        }
        out.removeLast(bound - written)
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

    /// `12345` with 2 decimals → `123.45` (trailing zeros kept, as the value is exact).
    static func appendFixed(_ value: Int64, decimals: Int, _ out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 48) { buffer in
            var writer = Writer(buffer.baseAddress!)
            writer.fixed(value, decimals: decimals)
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[0..<writer.count]))
        }
    }

    /// Writes JSON bytes at a pointer the caller made room behind (see ``append(_:to:)``'s bound).
    struct Writer {
        private let base: UnsafeMutablePointer<UInt8>
        private(set) var count = 0

        init(_ base: UnsafeMutablePointer<UInt8>) {
            self.base = base
        }

        mutating func event(_ event: SimEvent) {
            literal(#"{"ev":""#)
            switch event.channel {
            case .trade: literal("T")
            case .quote: literal("Q")
            case .secondAggregate: literal("A")
            case .minuteAggregate: literal("AM")
            }
            literal(#"","sym":""#)
            text(event.symbol)
            byte(UInt8(ascii: "\""))
            switch event.channel {
            case .trade:
                field(#","x":"#, event.exchange)
                literal(#","i":""#)
                text(event.tradeID)
                byte(UInt8(ascii: "\""))
                field(#","z":"#, event.tape)
                fixedField(#","p":"#, event.priceCents, decimals: 2)
                field(#","s":"#, event.size)
                conditions(event.conditions)
                field(#","t":"#, event.timeMilliseconds)
                field(#","q":"#, event.sequence)
            case .quote:
                field(#","bx":"#, event.bidExchange)
                fixedField(#","bp":"#, event.bidCents, decimals: 2)
                field(#","bs":"#, event.bidSize)
                field(#","ax":"#, event.askExchange)
                fixedField(#","ap":"#, event.askCents, decimals: 2)
                field(#","as":"#, event.askSize)
                conditions(event.conditions)
                field(#","t":"#, event.timeMilliseconds)
                field(#","z":"#, event.tape)
                field(#","q":"#, event.sequence)
            case .secondAggregate, .minuteAggregate:
                field(#","v":"#, event.volume)
                field(#","av":"#, event.dayVolume)
                fixedField(#","op":"#, event.dayOpenCents, decimals: 2)
                fixedField(#","vw":"#, event.vwapTenThousandths, decimals: 4)
                fixedField(#","o":"#, event.openCents, decimals: 2)
                fixedField(#","c":"#, event.closeCents, decimals: 2)
                fixedField(#","h":"#, event.highCents, decimals: 2)
                fixedField(#","l":"#, event.lowCents, decimals: 2)
                fixedField(#","a":"#, event.dayVWAPTenThousandths, decimals: 4)
                field(#","z":"#, event.averageSize)
                field(#","s":"#, event.startMilliseconds)
                field(#","e":"#, event.endMilliseconds)
            }
            byte(UInt8(ascii: "}"))
        }

        @inline(__always)
        mutating func byte(_ value: UInt8) {
            base[count] = value
            count += 1
        }

        @inline(__always)
        mutating func literal(_ value: StaticString) {
            (base + count).update(from: value.utf8Start, count: value.utf8CodeUnitCount)
            count += value.utf8CodeUnitCount
        }

        mutating func text(_ value: String) {
            for unit in value.utf8 { byte(unit) }
        }

        /// `key` carries its comma, quotes and colon, e.g. `,"x":`.
        mutating func field(_ key: StaticString, _ value: some BinaryInteger) {
            literal(key)
            integer(Int64(value))
        }

        /// `key` as in ``field(_:_:)``, then a fixed-point value (`12345`, 2 decimals → `123.45`).
        mutating func fixedField(_ key: StaticString, _ value: Int64, decimals: Int) {
            literal(key)
            fixed(value, decimals: decimals)
        }

        mutating func conditions(_ values: [Int]) {
            guard !values.isEmpty else { return }
            literal(#","c":["#)
            for (index, value) in values.enumerated() {
                if index > 0 { byte(UInt8(ascii: ",")) }
                integer(Int64(value))
            }
            byte(UInt8(ascii: "]"))
        }

        mutating func integer(_ value: Int64) {
            if value < 0 { byte(UInt8(ascii: "-")) }
            unsigned(value.magnitude)
        }

        /// Digits two at a time from a table, written backwards into their final place.
        mutating func unsigned(_ value: UInt64) {
            var digits = 1
            var probe = value
            while probe >= 10 {
                probe /= 10
                digits += 1
            }
            var remaining = value
            var position = count + digits
            Self.pairs.withUnsafeBufferPointer { pairs in
                while remaining >= 100 {
                    let pair = Int(remaining % 100) * 2
                    remaining /= 100
                    position -= 2
                    base[position] = pairs[pair]
                    base[position + 1] = pairs[pair + 1]
                }
                if remaining >= 10 {
                    let pair = Int(remaining) * 2
                    position -= 2
                    base[position] = pairs[pair]
                    base[position + 1] = pairs[pair + 1]
                } else {
                    position -= 1
                    base[position] = UInt8(ascii: "0") + UInt8(remaining)
                }
            }
            count += digits
        }

        /// `12345` with 2 decimals → `123.45`.
        mutating func fixed(_ value: Int64, decimals: Int) {
            var scale: UInt64 = 1
            for _ in 0..<decimals { scale *= 10 }
            if value < 0 { byte(UInt8(ascii: "-")) }
            let magnitude = value.magnitude
            unsigned(magnitude / scale)
            byte(UInt8(ascii: "."))
            var fraction = magnitude % scale
            var divisor = scale / 10
            while divisor > 0 {
                byte(UInt8(ascii: "0") + UInt8(fraction / divisor))
                fraction %= divisor
                divisor /= 10
            }
        }

        /// "00" "01" … "99" back to back.
        private static let pairs: [UInt8] = (0..<100).flatMap { [UInt8(ascii: "0") + UInt8($0 / 10), UInt8(ascii: "0") + UInt8($0 % 10)] }
    }
}

/// A cursor over JSON bytes with just what the vendor decoder needs: whitespace, punctuation,
/// strings (as byte ranges, unescaped only when they hold escapes), numbers, and skipping any
/// value. Bounds are checked on every read, so hostile input can only fail, never crash.
struct JSONByteScanner {
    let bytes: UnsafeRawBufferPointer
    var position = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    @inline(__always)
    func peek() -> UInt8? {
        position < bytes.count ? bytes[position] : nil
    }

    @inline(__always)
    func byte(at index: Int) -> UInt8 {
        index < bytes.count ? bytes[index] : 0
    }

    @inline(__always)
    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    @inline(__always)
    mutating func consume(_ byte: UInt8) -> Bool {
        guard position < bytes.count, bytes[position] == byte else { return false }
        position += 1
        return true
    }

    func matches(_ range: Range<Int>, _ text: StaticString) -> Bool {
        guard range.count == text.utf8CodeUnitCount else { return false }
        let pointer = text.utf8Start
        for offset in 0..<range.count where bytes[range.lowerBound + offset] != pointer[offset] {
            return false
        }
        return true
    }

    func text(_ range: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    /// The raw bytes between the quotes of a string at the cursor (escapes left in place).
    mutating func stringRange() -> Range<Int>? {
        guard consume(UInt8(ascii: "\"")) else { return nil }
        let start = position
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let range = start..<position
                position += 1
                return range
            }
            if byte == UInt8(ascii: "\\") {
                position += 2
                continue
            }
            if byte < 0x20 { return nil }
            position += 1
        }
        return nil
    }

    /// A string value, unescaped; nil (cursor unchanged) if the value is not a string.
    mutating func stringValue() -> String? {
        let start = position
        guard let range = stringRange() else {
            position = start
            return nil
        }
        let raw = UnsafeRawBufferPointer(rebasing: bytes[range])
        guard raw.contains(UInt8(ascii: "\\")) else {
            return String(decoding: raw, as: UTF8.self)
        }
        return Self.unescape(raw)
    }

    /// A JSON number; nil (cursor unchanged) if the value is not one. Integers and decimals up to
    /// 19 significant digits take the exact fast path (mantissa over a power of ten, one rounding).
    mutating func number() -> Double? {
        let start = position
        var index = position
        var negative = false
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        var mantissa: UInt64 = 0
        var digits = 0
        var fractionDigits = 0
        let integerStart = index
        while index < bytes.count, bytes[index] &- 48 < 10 {
            if digits < 19 { mantissa = mantissa &* 10 &+ UInt64(bytes[index] &- 48) }
            digits += 1
            index += 1
        }
        guard index > integerStart else { return nil }
        // No leading zeros ("01") in JSON.
        if bytes[integerStart] == UInt8(ascii: "0"), index - integerStart > 1 { return nil }
        var exact = digits <= 19
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            let fractionStart = index
            while index < bytes.count, bytes[index] &- 48 < 10 {
                if digits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(bytes[index] &- 48)
                    fractionDigits += 1
                } else {
                    exact = false
                }
                digits += 1
                index += 1
            }
            guard index > fractionStart else { return nil }
        }
        var hasExponent = false
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            hasExponent = true
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            let exponentStart = index
            while index < bytes.count, bytes[index] &- 48 < 10 { index += 1 }
            guard index > exponentStart else { return nil }
        }
        // The value must end where JSON allows a value to end.
        if index < bytes.count, !Self.endsValue(bytes[index]) { return nil }
        position = index
        if exact, !hasExponent, mantissa < (1 << 53), fractionDigits < Self.powersOfTen.count {
            let value = Double(mantissa) / Self.powersOfTen[fractionDigits]
            return negative ? -value : value
        }
        // Rare: very long or exponent numbers go through the standard library's parser.
        guard let value = Double(text(start..<index)) else {
            position = start
            return nil
        }
        return value
    }

    /// A JSON number as a whole number, truncated toward zero; nil (cursor unchanged) if the value
    /// is not a number or does not fit. Plain integers of up to 18 digits (times, sequences,
    /// exchanges) skip the detour through `Double`; anything else goes through ``number()``.
    mutating func integer() -> Int64? {
        var index = position
        let negative = index < bytes.count && bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        let digitsStart = index
        var value: Int64 = 0
        while index < bytes.count, bytes[index] &- 48 < 10, index - digitsStart < 18 {
            value = value &* 10 &+ Int64(bytes[index] &- 48)
            index += 1
        }
        let digits = index - digitsStart
        let simple = digits > 0 && !(digits > 1 && bytes[digitsStart] == UInt8(ascii: "0"))
        if simple, index == bytes.count || Self.endsValue(bytes[index]) {
            position = index
            return negative ? -value : value
        }
        // Decimals, exponents, very long numbers and errors: the general path decides.
        let start = position
        guard let double = number() else { return nil }
        guard let whole = Int64(exactly: double.rounded(.towardZero)) else {
            position = start
            return nil
        }
        return whole
    }

    /// Whether `byte` may follow a number: a separator, a closing bracket or whitespace.
    @inline(__always)
    private static func endsValue(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x0A, 0x0D, 0x09: true
        default: false
        }
    }

    private static let powersOfTen: [Double] = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22]

    /// Skips one value of any type; false on a syntax error or nesting deeper than 64.
    mutating func skipValue(depth: Int = 0) -> Bool {
        guard depth < 64 else { return false }
        skipWhitespace()
        guard let byte = peek() else { return false }
        switch byte {
        case UInt8(ascii: "{"):
            position += 1
            skipWhitespace()
            if consume(UInt8(ascii: "}")) { return true }
            while true {
                skipWhitespace()
                guard stringRange() != nil else { return false }
                skipWhitespace()
                guard consume(UInt8(ascii: ":")), skipValue(depth: depth + 1) else { return false }
                skipWhitespace()
                if consume(UInt8(ascii: ",")) { continue }
                return consume(UInt8(ascii: "}"))
            }
        case UInt8(ascii: "["):
            position += 1
            skipWhitespace()
            if consume(UInt8(ascii: "]")) { return true }
            while true {
                guard skipValue(depth: depth + 1) else { return false }
                skipWhitespace()
                if consume(UInt8(ascii: ",")) { continue }
                return consume(UInt8(ascii: "]"))
            }
        case UInt8(ascii: "\""):
            return stringRange() != nil
        case UInt8(ascii: "t"):
            return consumeLiteral("true")
        case UInt8(ascii: "f"):
            return consumeLiteral("false")
        case UInt8(ascii: "n"):
            return consumeLiteral("null")
        default:
            return number() != nil
        }
    }

    /// Skips a value, recording a type error; false only when the value's syntax is broken.
    mutating func skipValueOrFail(_ typeError: inout Bool) -> Bool {
        typeError = true
        return skipValue()
    }

    private mutating func consumeLiteral(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard position + count <= bytes.count, matches(position..<(position + count), literal) else { return false }
        position += count
        return true
    }

    /// After broken syntax: moves to the next `{` that follows a `,` (the next element of the
    /// frame, most likely); false when there is none.
    mutating func resynchronize() -> Bool {
        while position < bytes.count {
            if bytes[position] == UInt8(ascii: ",") {
                var probe = position + 1
                while probe < bytes.count, bytes[probe] == 0x20 || bytes[probe] == 0x0A || bytes[probe] == 0x0D || bytes[probe] == 0x09 { probe += 1 }
                if probe < bytes.count, bytes[probe] == UInt8(ascii: "{") {
                    position = probe
                    return true
                }
            }
            position += 1
        }
        return false
    }

    static func unescape(_ raw: UnsafeRawBufferPointer) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var index = 0
        while index < raw.count {
            let byte = raw[index]
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                index += 1
                continue
            }
            guard index + 1 < raw.count else { return nil }
            let escaped = raw[index + 1]
            index += 2
            switch escaped {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escaped)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                guard index + 4 <= raw.count, let code = UInt32(String(decoding: UnsafeRawBufferPointer(rebasing: raw[index..<(index + 4)]), as: UTF8.self), radix: 16) else { return nil }
                index += 4
                // Surrogate pairs are not expected in tickers; a lone one becomes U+FFFD.
                let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            default:
                return nil
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

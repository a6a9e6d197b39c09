/// JSON string escaping, the one routine every hand-written JSON body uses (log lines, `/healthz`,
/// error bodies, gateway envelopes, JWT claims): the escapes RFC 8259 requires and nothing more,
/// without Foundation's encoder on paths that run per message.
public enum JSONText {
    /// Appends `text` as a quoted, escaped JSON string.
    public static func appendString(_ text: some StringProtocol, to out: inout String) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count + 2)
        writeQuoted(text) { run in bytes.append(contentsOf: run) }
        out += String(decoding: bytes, as: UTF8.self)
    }

    /// A quoted, escaped JSON string.
    public static func quoted(_ text: some StringProtocol) -> String {
        var out = ""
        appendString(text, to: &out)
        return out
    }

    /// Writes `text` as a quoted JSON string in runs of UTF-8 bytes (unescaped stretches go out
    /// as one run each), for writers into byte buffers: `"`, `\` and control characters are
    /// escaped (`\n`, `\r`, `\t`, else `\u00xx`), everything else is written as it is.
    @inlinable
    public static func writeQuoted(_ text: some StringProtocol, _ write: (UnsafeRawBufferPointer) -> Void) {
        write(bytes(of: "\""))
        let done: Void? = text.utf8.withContiguousStorageIfAvailable { writeEscaped($0, write) }
        if done == nil {
            Array(text.utf8).withUnsafeBufferPointer { writeEscaped($0, write) }
        }
        write(bytes(of: "\""))
    }

    /// The escaping loop over contiguous UTF-8 (multi-byte sequences never hold a byte below 0x80,
    /// so escaping by byte is escaping by scalar).
    @inlinable
    static func writeEscaped(_ utf8: UnsafeBufferPointer<UInt8>, _ write: (UnsafeRawBufferPointer) -> Void) {
        var start = 0
        for index in 0..<utf8.count {
            let byte = utf8[index]
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
            if start < index { write(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: utf8[start..<index]))) }
            switch byte {
            case UInt8(ascii: "\""): write(bytes(of: #"\""#))
            case UInt8(ascii: "\\"): write(bytes(of: #"\\"#))
            case 0x0A: write(bytes(of: #"\n"#))
            case 0x0D: write(bytes(of: #"\r"#))
            case 0x09: write(bytes(of: #"\t"#))
            default:
                write(bytes(of: #"\u00"#))
                let hex: StaticString = "0123456789abcdef"
                withUnsafeBytes(of: (hex.utf8Start[Int(byte >> 4)], hex.utf8Start[Int(byte & 0xF)]), write)
            }
            start = index + 1
        }
        if start < utf8.count { write(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: utf8[start...]))) }
    }

    /// The bytes of a literal, without an allocation.
    @inlinable
    static func bytes(of literal: StaticString) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
    }
}

import NIOCore

/// Reads the top-level members of a small JSON object without Foundation: the publish
/// acknowledgement path decodes one per message, and `JSONDecoder` cost ~100 µs each (measured
/// with `xy bench js-pub`), more than the round trip. Nested values are skipped, not parsed.
struct FlatJSON {
    enum Value: Equatable {
        case string(String)
        case number(Substring)
        case bool(Bool)
        case null
        /// An object or array, not parsed.
        case nested
    }

    private(set) var members: [(key: String, value: Value)] = []

    subscript(key: String) -> Value? {
        members.first { $0.key == key }?.value
    }

    /// Nil when the bytes are not one JSON object of that shape (the caller falls back to `JSONDecoder`).
    init?(_ buffer: ByteBuffer) {
        let parsed: [(key: String, value: Value)]? = buffer.withUnsafeReadableBytes { bytes in
            var scanner = Scanner(bytes: bytes)
            return scanner.object()
        }
        guard let parsed else { return nil }
        members = parsed
    }

    private struct Scanner {
        let bytes: UnsafeRawBufferPointer
        var index = 0

        init(bytes: UnsafeRawBufferPointer) {
            self.bytes = bytes
        }

        mutating func object() -> [(key: String, value: Value)]? {
            skipSpace()
            guard consume(UInt8(ascii: "{")) else { return nil }
            var members: [(key: String, value: Value)] = []
            skipSpace()
            if consume(UInt8(ascii: "}")) { return finished(members) }
            while true {
                skipSpace()
                guard let key = string() else { return nil }
                skipSpace()
                guard consume(UInt8(ascii: ":")) else { return nil }
                skipSpace()
                guard let value = value() else { return nil }
                members.append((key: key, value: value))
                skipSpace()
                if consume(UInt8(ascii: ",")) { continue }
                guard consume(UInt8(ascii: "}")) else { return nil }
                return finished(members)
            }
        }

        private mutating func finished(_ members: [(key: String, value: Value)]) -> [(key: String, value: Value)]? {
            skipSpace()
            return index == bytes.count ? members : nil
        }

        private mutating func value() -> Value? {
            guard index < bytes.count else { return nil }
            switch bytes[index] {
            case UInt8(ascii: "\""):
                return string().map(Value.string)
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                return skipNested() ? .nested : nil
            case UInt8(ascii: "t"):
                return literal("true") ? .bool(true) : nil
            case UInt8(ascii: "f"):
                return literal("false") ? .bool(false) : nil
            case UInt8(ascii: "n"):
                return literal("null") ? .null : nil
            default:
                let start = index
                while index < bytes.count, isNumberByte(bytes[index]) { index += 1 }
                guard index > start else { return nil }
                return .number(Substring(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)))
            }
        }

        /// A string; escapes other than `\"`, `\\` and `\/` send the caller to the full decoder.
        private mutating func string() -> String? {
            guard consume(UInt8(ascii: "\"")) else { return nil }
            var text: [UInt8] = []
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return String(decoding: text, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard index < bytes.count else { return nil }
                    let escaped = bytes[index]
                    index += 1
                    guard escaped == UInt8(ascii: "\"") || escaped == UInt8(ascii: "\\") || escaped == UInt8(ascii: "/") else { return nil }
                    text.append(escaped)
                case 0..<0x20:
                    return nil
                default:
                    text.append(byte)
                }
            }
            return nil
        }

        private mutating func skipNested() -> Bool {
            var depth = 0
            var inString = false
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                if inString {
                    if byte == UInt8(ascii: "\\") { index += 1 } else if byte == UInt8(ascii: "\"") { inString = false }
                    continue
                }
                switch byte {
                case UInt8(ascii: "\""): inString = true
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return true }
                default: break
                }
            }
            return false
        }

        private mutating func literal(_ word: StaticString) -> Bool {
            let count = word.utf8CodeUnitCount
            guard index + count <= bytes.count else { return false }
            for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { return false }
            index += count
            return true
        }

        private mutating func consume(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        private mutating func skipSpace() {
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 {
                index += 1
            }
        }

        private func isNumberByte(_ byte: UInt8) -> Bool {
            (byte >= 48 && byte <= 57) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".")
                || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
        }
    }
}

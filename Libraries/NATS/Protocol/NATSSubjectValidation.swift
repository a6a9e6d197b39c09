/// The NATS subject grammar, checked on bytes before anything reaches the socket,
/// so no caller text can inject a protocol line (CR/LF, spaces) or a wildcard where none is allowed.
public enum NATSSubjectValidation {
    /// Whether a subject may be published to: literal tokens only.
    public static func isValidPublishSubject(_ subject: String) -> Bool {
        check(subject, wildcards: false)
    }

    /// Whether a subject may be subscribed to: `*` and `>` as whole tokens, `>` last.
    public static func isValidSubscribeSubject(_ subject: String) -> Bool {
        check(subject, wildcards: true)
    }

    /// Whether a queue group name is acceptable: non-empty, no whitespace or control bytes.
    public static func isValidQueueName(_ queue: String) -> Bool {
        guard !queue.isEmpty else { return false }
        for byte in queue.utf8 where byte <= 0x20 || byte == 0x7F { return false }
        return true
    }

    /// Byte classes: 0 ordinary, 1 `.`, 2 `*`, 3 `>`, 4 never allowed (controls, space, DEL).
    private static let byteClass: [UInt8] = (0..<256).map { byte in
        switch byte {
        case 0...0x20, 0x7F: return 4
        case Int(UInt8(ascii: ".")): return 1
        case Int(UInt8(ascii: "*")): return 2
        case Int(UInt8(ascii: ">")): return 3
        default: return 0
        }
    }

    static func check(_ subject: String, wildcards: Bool) -> Bool {
        if let result = subject.utf8.withContiguousStorageIfAvailable({ check($0, wildcards: wildcards) }) {
            return result
        }
        return Array(subject.utf8).withUnsafeBufferPointer { check($0, wildcards: wildcards) }
    }

    /// One pass over the bytes with a table lookup each: this runs on every publish.
    static func check(_ bytes: UnsafeBufferPointer<UInt8>, wildcards: Bool) -> Bool {
        guard !bytes.isEmpty else { return false }
        return byteClass.withUnsafeBufferPointer { table in
            var tokenStart = 0
            var sawFullWildcard = false
            for index in 0..<bytes.count {
                let kind = table[Int(bytes[index])]
                if kind == 0 { continue }
                switch kind {
                case 1:
                    guard index > tokenStart, !sawFullWildcard else { return false }
                    tokenStart = index + 1
                case 2, 3:
                    guard wildcards, isWholeToken(bytes, index), !sawFullWildcard else { return false }
                    if kind == 3 { sawFullWildcard = true }
                default:
                    return false
                }
            }
            return tokenStart < bytes.count
        }
    }

    private static func isWholeToken(_ bytes: UnsafeBufferPointer<UInt8>, _ index: Int) -> Bool {
        let startsToken = index == 0 || bytes[index - 1] == UInt8(ascii: ".")
        let endsToken = index == bytes.count - 1 || bytes[index + 1] == UInt8(ascii: ".")
        return startsToken && endsToken
    }
}

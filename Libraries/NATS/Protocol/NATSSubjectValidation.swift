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

    static func check(_ subject: String, wildcards: Bool) -> Bool {
        var subject = subject
        return subject.withUTF8 { bytes in
            guard !bytes.isEmpty else { return false }
            var tokenStart = 0
            var index = 0
            var sawFullWildcard = false
            while index <= bytes.count {
                if index == bytes.count || bytes[index] == UInt8(ascii: ".") {
                    let length = index - tokenStart
                    guard length > 0, !sawFullWildcard else { return false }
                    if length == 1 {
                        let byte = bytes[tokenStart]
                        if byte == UInt8(ascii: ">") {
                            guard wildcards else { return false }
                            sawFullWildcard = true
                        } else if byte == UInt8(ascii: "*") {
                            guard wildcards else { return false }
                        }
                    }
                    tokenStart = index + 1
                } else {
                    let byte = bytes[index]
                    if byte <= 0x20 || byte == 0x7F { return false }
                    if (byte == UInt8(ascii: "*") || byte == UInt8(ascii: ">")) && !isWholeToken(bytes, index) {
                        return false
                    }
                }
                index += 1
            }
            return true
        }
    }

    private static func isWholeToken(_ bytes: UnsafeBufferPointer<UInt8>, _ index: Int) -> Bool {
        let startsToken = index == 0 || bytes[index - 1] == UInt8(ascii: ".")
        let endsToken = index == bytes.count - 1 || bytes[index + 1] == UInt8(ascii: ".")
        return startsToken && endsToken
    }
}

import NIOConcurrencyHelpers

/// Unique tokens for inboxes, as nats' NUID: a random prefix, then a counter, in base 62.
enum NUID {
    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
    private static let counter = NIOLockedValueBox<UInt64>(UInt64.random(in: 0..<(1 << 40)))

    /// 22 characters: 12 random, 10 from a shared counter, so two calls never collide in one process.
    static func next() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(22)
        for _ in 0..<12 {
            bytes.append(alphabet[Int(generator.next(upperBound: UInt8(62)))])
        }
        var value = counter.withLockedValue { value -> UInt64 in
            value &+= 1
            return value
        }
        for _ in 0..<10 {
            bytes.append(alphabet[Int(value % 62)])
            value /= 62
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A short base-62 token for a number (request ids within one muxed inbox).
    static func token(_ number: UInt64) -> String {
        var value = number
        var bytes: [UInt8] = []
        repeat {
            bytes.append(alphabet[Int(value % 62)])
            value /= 62
        } while value > 0
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The number a `token(_:)` was made from (least significant digit first), nil for anything else.
    static func number<Bytes: Collection<UInt8>>(fromToken token: Bytes) -> UInt64? {
        guard !token.isEmpty, token.count <= 11 else { return nil }
        var value: UInt64 = 0
        var scale: UInt64 = 1
        for (index, byte) in token.enumerated() {
            let digit: UInt64
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt64(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): digit = UInt64(byte - UInt8(ascii: "A")) + 10
            case UInt8(ascii: "a")...UInt8(ascii: "z"): digit = UInt64(byte - UInt8(ascii: "a")) + 36
            default: return nil
            }
            let (term, overflow) = digit.multipliedReportingOverflow(by: scale)
            guard !overflow else { return nil }
            let (sum, carry) = value.addingReportingOverflow(term)
            guard !carry else { return nil }
            value = sum
            if index + 1 < token.count {
                let (next, over) = scale.multipliedReportingOverflow(by: 62)
                guard !over else { return nil }
                scale = next
            }
        }
        return value
    }
}

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
}

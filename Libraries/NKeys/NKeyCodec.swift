/// The NKeys text encodings: prefix byte(s) + raw key + CRC16 (little-endian), in base32.
enum NKeyCodec {
    static let rawKeyCount = 32

    /// `U…`/`A…`/… form of a 32-byte ed25519 public key.
    static func encodePublicKey(type: NKeyType, _ raw: [UInt8]) -> String {
        encode([type.prefixByte] + raw)
    }

    /// `S…` form of a 32-byte seed: the seed prefix and the type prefix share the first two bytes
    /// so that the second character names the type (`SU…`, `SA…`).
    static func encodeSeed(type: NKeyType, _ raw: [UInt8]) -> String {
        var bytes = [NKeyPrefix.seed | (type.prefixByte >> 5), (type.prefixByte & 31) << 3] + raw
        defer { Sodium.wipe(&bytes) }
        return encode(bytes)
    }

    static func decodePublicKey(_ text: Substring) throws(NKeyError) -> (NKeyType, [UInt8]) {
        let body = try decodeChecked(text)
        guard let type = NKeyType(prefixByte: body[0]) else {
            throw NKeyError(.invalidPrefix, "not a public key: unknown or seed prefix")
        }
        guard body.count == 1 + rawKeyCount else {
            throw NKeyError(.invalidPublicKey, "public key has \(body.count - 1) bytes, expected \(rawKeyCount)")
        }
        return (type, Array(body[1...]))
    }

    static func decodeSeed(_ text: Substring) throws(NKeyError) -> (NKeyType, [UInt8]) {
        var body = try decodeChecked(text)
        defer { Sodium.wipe(&body) }
        guard body.count >= 2, body[0] & 0b1111_1000 == NKeyPrefix.seed else {
            throw NKeyError(.invalidPrefix, "not a seed: it does not start with the seed prefix")
        }
        let typeByte = (body[0] & 0b111) << 5 | (body[1] & 0b1111_1000) >> 3
        guard let type = NKeyType(prefixByte: typeByte) else {
            throw NKeyError(.invalidPrefix, "seed names no known key type")
        }
        guard body.count == 2 + rawKeyCount else {
            throw NKeyError(.invalidSeed, "seed has \(body.count - 2) bytes, expected \(rawKeyCount)")
        }
        return (type, Array(body[2...]))
    }

    private static func encode(_ body: [UInt8]) -> String {
        let crc = CRC16.checksum(body)
        var bytes = body + [UInt8(truncatingIfNeeded: crc), UInt8(truncatingIfNeeded: crc >> 8)]
        defer { Sodium.wipe(&bytes) }
        return Base32.encode(bytes)
    }

    /// Base32-decodes `text` and checks and strips the CRC; the result has at least one byte.
    private static func decodeChecked(_ text: Substring) throws(NKeyError) -> [UInt8] {
        guard var raw = Base32.decode(text) else {
            throw NKeyError(.invalidEncoding, "not valid base32")
        }
        defer { Sodium.wipe(&raw) }
        guard raw.count >= 4 else {
            throw NKeyError(.invalidEncoding, "too short to be a key")
        }
        let body = Array(raw[..<(raw.count - 2)])
        let stored = UInt16(raw[raw.count - 2]) | UInt16(raw[raw.count - 1]) << 8
        guard CRC16.checksum(body) == stored else {
            throw NKeyError(.invalidChecksum, "checksum mismatch")
        }
        return body
    }
}

/// CRC16 XMODEM (poly 0x1021, init 0), the checksum the nkeys Go library appends to every key.
enum CRC16 {
    /// Checksum of `bytes`; appended to the key little-endian before base32 encoding.
    static func checksum(_ bytes: some Sequence<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc ^= UInt16(byte) << 8
            for _ in 0..<8 {
                crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1
            }
        }
        return crc
    }
}

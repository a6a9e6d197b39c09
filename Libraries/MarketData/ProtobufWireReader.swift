/// Bounds-checked reads of Protobuf wire format over a byte range, for code that needs a few
/// fields of a message without building it; nil (or false) on anything malformed, never a trap.
public struct ProtobufWireReader {
    public let bytes: UnsafeRawBufferPointer
    public private(set) var index: Int
    public let end: Int

    public init(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) {
        self.bytes = bytes
        self.index = range.lowerBound
        self.end = range.upperBound
    }

    public var atEnd: Bool { index >= end }

    /// Field number and wire type.
    public mutating func key() -> (UInt64, UInt64)? {
        guard let key = varint(), key >> 3 != 0 else { return nil }
        return (key >> 3, key & 7)
    }

    public mutating func varint() -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while index < end, shift < 64 {
            let byte = bytes[index]
            index += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
        return nil
    }

    public mutating func double() -> Double? {
        guard end - index >= 8 else { return nil }
        let bits = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self))
        index += 8
        return Double(bitPattern: bits)
    }

    /// The range of a length-delimited field's bytes, moved past.
    public mutating func lengthDelimited() -> Range<Int>? {
        guard let length = varint(), length <= UInt64(end - index) else { return nil }
        let start = index
        index += Int(length)
        return start..<index
    }

    /// Moves past a field of wire type `type` (groups, types 3 and 4, are refused).
    public mutating func skip(_ type: UInt64) -> Bool {
        switch type {
        case 0: return varint() != nil
        case 1: return advance(8)
        case 2: return lengthDelimited() != nil
        case 5: return advance(4)
        default: return false
        }
    }

    private mutating func advance(_ count: Int) -> Bool {
        guard end - index >= count else { return false }
        index += count
        return true
    }
}

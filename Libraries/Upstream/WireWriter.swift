/// Protobuf wire-format stores through a raw pointer, for ``MarketEventWireEncoder``: no bounds,
/// capacity or exclusivity checks, so the caller guarantees room (it sizes its scratch from the
/// event's string and array lengths). Fields with proto3 default values are skipped, as the
/// generated code skips them.
struct WireWriter {
    private let start: UnsafeMutablePointer<UInt8>
    private var cursor: UnsafeMutablePointer<UInt8>

    init(_ start: UnsafeMutablePointer<UInt8>) {
        self.start = start
        self.cursor = start
    }

    /// Bytes written so far.
    var count: Int { cursor - start }

    @inline(__always)
    mutating func raw(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            cursor.pointee = UInt8(truncatingIfNeeded: value) | 0x80
            cursor += 1
            value >>= 7
        }
        cursor.pointee = UInt8(value)
        cursor += 1
    }

    @inline(__always)
    mutating func varint(_ field: UInt64, _ value: UInt64) {
        guard value != 0 else { return }
        raw(field << 3)
        raw(value)
    }

    @inline(__always)
    mutating func double(_ field: UInt64, _ value: Double) {
        // 0 and -0 are the default and are not written.
        guard value != 0 else { return }
        raw(field << 3 | 1)
        UnsafeMutableRawPointer(cursor).storeBytes(of: value.bitPattern.littleEndian, as: UInt64.self)
        cursor += 8
    }

    @inline(__always)
    mutating func string(_ field: UInt64, _ value: String) {
        guard !value.isEmpty else { return }
        raw(field << 3 | 2)
        var value = value
        value.withUTF8 { utf8 in
            raw(UInt64(utf8.count))
            if let base = utf8.baseAddress {
                bytes(base, utf8.count)
            }
        }
    }

    mutating func packed(_ field: UInt64, _ values: [Int32]) {
        guard !values.isEmpty else { return }
        var length: UInt64 = 0
        for value in values {
            var remaining = UInt64(bitPattern: Int64(value))
            repeat {
                length += 1
                remaining >>= 7
            } while remaining > 0
        }
        raw(field << 3 | 2)
        raw(length)
        for value in values {
            raw(UInt64(bitPattern: Int64(value)))
        }
    }

    @inline(__always)
    mutating func bytes(_ source: UnsafePointer<UInt8>, _ count: Int) {
        cursor.update(from: source, count: count)
        cursor += count
    }
}

import NIOCore

/// Writers for the client-to-server protocol lines, straight into the outbound buffer as bytes:
/// no `String` interpolation on the publish path.
extension ByteBuffer {
    private static let crlf: UInt16 = 0x0D0A

    /// `PUB <subject> [reply] <len>\r\n<payload>\r\n`, written with one capacity check and raw copies:
    /// each separate `ByteBuffer.write…` call costs a capacity check and an exclusivity check.
    @inlinable
    mutating func writeNATSPublish(subject: String, replyTo: String?, payload: ByteBuffer) {
        let payloadLength = payload.readableBytes
        let subjectLength = subject.utf8.count
        let replyLength = replyTo.map { $0.utf8.count + 1 } ?? 0
        let digits = Self.decimalDigits(payloadLength)
        let total = 4 + subjectLength + replyLength + 1 + digits + 2 + payloadLength + 2
        writeWithUnsafeMutableBytes(minimumWritableBytes: total) { raw in
            let base = raw.baseAddress!
            var offset = 0
            base.storeBytes(of: 0x2042_5550 as UInt32, as: UInt32.self)  // "PUB " little-endian
            offset = 4
            offset += Self.copyUTF8(subject, to: base + offset)
            if let replyTo {
                base.storeBytes(of: UInt8(ascii: " "), toByteOffset: offset, as: UInt8.self)
                offset += 1
                offset += Self.copyUTF8(replyTo, to: base + offset)
            }
            base.storeBytes(of: UInt8(ascii: " "), toByteOffset: offset, as: UInt8.self)
            offset += 1
            var value = payloadLength
            var index = offset + digits - 1
            repeat {
                base.storeBytes(of: UInt8(truncatingIfNeeded: 0x30 + value % 10), toByteOffset: index, as: UInt8.self)
                value /= 10
                index -= 1
            } while value > 0
            offset += digits
            base.storeBytes(of: 0x0A0D as UInt16, toByteOffset: offset, as: UInt16.self)
            offset += 2
            if payloadLength > 0 {
                payload.withUnsafeReadableBytes { bytes in
                    (base + offset).copyMemory(from: bytes.baseAddress!, byteCount: payloadLength)
                }
                offset += payloadLength
            }
            base.storeBytes(of: 0x0A0D as UInt16, toByteOffset: offset, as: UInt16.self)
            return offset + 2
        }
    }

    @inlinable
    static func decimalDigits(_ value: Int) -> Int {
        var digits = 1
        var rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        return digits
    }

    /// Copies a string's UTF-8 bytes; native strings are contiguous, so this is one memcpy.
    @inlinable
    static func copyUTF8(_ text: String, to destination: UnsafeMutableRawPointer) -> Int {
        if let count = text.utf8.withContiguousStorageIfAvailable({ bytes -> Int in
            if let source = bytes.baseAddress { destination.copyMemory(from: source, byteCount: bytes.count) }
            return bytes.count
        }) {
            return count
        }
        var count = 0
        for byte in text.utf8 {
            destination.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
            count += 1
        }
        return count
    }

    /// `HPUB <subject> [reply] <hdrlen> <totlen>\r\n<headers><payload>\r\n`.
    mutating func writeNATSHeaderPublish(subject: String, replyTo: String?, headers: ByteBuffer, payload: ByteBuffer) {
        writeStaticString("HPUB ")
        writeString(subject)
        if let replyTo {
            writeInteger(UInt8(ascii: " "))
            writeString(replyTo)
        }
        writeInteger(UInt8(ascii: " "))
        writeDecimal(headers.readableBytes)
        writeInteger(UInt8(ascii: " "))
        writeDecimal(headers.readableBytes + payload.readableBytes)
        writeInteger(UInt16(0x0D0A))
        writeImmutableBuffer(headers)
        writeImmutableBuffer(payload)
        writeInteger(UInt16(0x0D0A))
    }

    /// `SUB <subject> [queue] <sid>\r\n`.
    mutating func writeNATSSubscribe(subject: String, queue: String?, sid: UInt64) {
        writeStaticString("SUB ")
        writeString(subject)
        if let queue {
            writeInteger(UInt8(ascii: " "))
            writeString(queue)
        }
        writeInteger(UInt8(ascii: " "))
        writeDecimal(Int(sid))
        writeInteger(UInt16(0x0D0A))
    }

    /// `UNSUB <sid> [max]\r\n`.
    mutating func writeNATSUnsubscribe(sid: UInt64, max: Int?) {
        writeStaticString("UNSUB ")
        writeDecimal(Int(sid))
        if let max {
            writeInteger(UInt8(ascii: " "))
            writeDecimal(max)
        }
        writeInteger(UInt16(0x0D0A))
    }

    mutating func writeNATSPing() {
        writeStaticString("PING\r\n")
    }

    mutating func writeNATSPong() {
        writeStaticString("PONG\r\n")
    }

    /// `CONNECT <json>\r\n`.
    mutating func writeNATSConnect(json: String) {
        writeStaticString("CONNECT ")
        writeString(json)
        writeInteger(UInt16(0x0D0A))
    }

    /// Writes a non-negative integer in decimal without going through `String`.
    @inlinable
    mutating func writeDecimal(_ value: Int) {
        precondition(value >= 0)
        if value < 10 {
            writeInteger(UInt8(truncatingIfNeeded: 0x30 + value))
            return
        }
        var digits = 0
        var rest = value
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        writeWithUnsafeMutableBytes(minimumWritableBytes: digits) { raw in
            var v = value
            var i = digits - 1
            while i >= 0 {
                raw[i] = UInt8(truncatingIfNeeded: 0x30 + v % 10)
                v /= 10
                i -= 1
            }
            return digits
        }
    }
}

extension NATSHeaders {
    /// The `NATS/1.0` block for HPUB, after checking names and values cannot break the framing.
    func encoded() throws(NATSError) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeStaticString("NATS/1.0\r\n")
        for field in fields {
            guard Self.isValidName(field.name) else {
                throw NATSError(.invalidHeader, "invalid header name")
            }
            guard !field.value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A }) else {
                throw NATSError(.invalidHeader, "header value for '\(field.name)' contains CR or LF")
            }
            buffer.writeString(field.name)
            buffer.writeStaticString(": ")
            buffer.writeString(field.value)
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("\r\n")
        return buffer
    }

    static func isValidName(_ name: String) -> Bool {
        guard !name.isEmpty else { return false }
        for byte in name.utf8 where byte <= 0x20 || byte == 0x7F || byte == UInt8(ascii: ":") { return false }
        return true
    }
}

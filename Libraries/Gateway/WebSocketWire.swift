import NIOCore

/// Server-to-client WebSocket frames written as finished bytes (RFC 6455 §5.2: FIN set, no mask),
/// so one buffer per message is shared by every connection that receives it and the socket
/// write needs no per-connection header buffer.
public enum WebSocketWire {
    public enum Opcode: UInt8, Sendable {
        case text = 0x1
        case binary = 0x2
        case close = 0x8
        case ping = 0x9
        case pong = 0xA
    }

    /// A whole frame: header then `payload`.
    public static func frame(_ opcode: Opcode, payload: ByteBuffer) -> ByteBuffer {
        var out = ByteBuffer()
        out.reserveCapacity(payload.readableBytes + 10)
        writeHeader(opcode, length: payload.readableBytes, to: &out)
        var payload = payload
        out.writeBuffer(&payload)
        return out
    }

    /// A close frame with `code` and a reason cut to the 123 bytes a control frame allows.
    public static func close(code: UInt16, reason: String) -> ByteBuffer {
        var payload = ByteBuffer()
        payload.writeInteger(code)
        var reasonBytes = Array(reason.utf8.prefix(123))
        // Never cut inside a UTF-8 sequence: drop trailing continuation bytes and their lead byte.
        while let last = reasonBytes.last, last & 0xC0 == 0x80 { reasonBytes.removeLast() }
        if let last = reasonBytes.last, last >= 0xC0 { reasonBytes.removeLast() }
        payload.writeBytes(reasonBytes)
        return frame(.close, payload: payload)
    }

    static func writeHeader(_ opcode: Opcode, length: Int, to out: inout ByteBuffer) {
        out.writeInteger(0x80 | opcode.rawValue)
        if length < 126 {
            out.writeInteger(UInt8(length))
        } else if length <= Int(UInt16.max) {
            out.writeInteger(UInt8(126))
            out.writeInteger(UInt16(length))
        } else {
            out.writeInteger(UInt8(127))
            out.writeInteger(UInt64(length))
        }
    }
}

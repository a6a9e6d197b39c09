import NIOCore
import SwiftProtobuf

/// A `ByteBuffer` as SwiftProtobuf's bag of bytes, so a message decodes straight from the NATS
/// read buffer's slice instead of a copied `[UInt8]` (one allocation less per event).
struct ProtobufBytes: SwiftProtobufContiguousBytes {
    var buffer: ByteBuffer

    init(_ buffer: ByteBuffer) {
        self.buffer = buffer
    }

    init(repeating: UInt8, count: Int) {
        buffer = ByteBuffer(repeating: repeating, count: count)
    }

    init<S: Sequence>(_ sequence: S) where S.Element == UInt8 {
        buffer = ByteBuffer(bytes: sequence)
    }

    var count: Int { buffer.readableBytes }

    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try buffer.withUnsafeReadableBytes(body)
    }

    mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try buffer.withUnsafeMutableReadableBytes(body)
    }
}

extension SwiftProtobuf.Message {
    /// Decodes a message from a NATS payload without copying it.
    init(payload: ByteBuffer) throws {
        try self.init(serializedBytes: ProtobufBytes(payload))
    }

    /// The message's wire bytes as a `ByteBuffer` ready to publish.
    func payload() throws -> ByteBuffer {
        let bytes: ProtobufBytes = try serializedBytes()
        return bytes.buffer
    }
}

import NIOCore

/// Entry point for the libFuzzer target and its corpus replay test: the parser must never crash,
/// and parsing input whole or cut into pieces must give the same operations.
@_spi(Fuzzing)
public enum NATSProtocolFuzzing {
    /// Parses `bytes` whole, then in chunks sized from the first byte; traps if the two disagree.
    public static func check(_ bytes: UnsafeRawBufferPointer) {
        let whole = run([bytes])
        let chunkSize = bytes.isEmpty ? 1 : Int(bytes[0] % 7) + 1
        var chunks: [UnsafeRawBufferPointer] = []
        var index = 0
        while index < bytes.count {
            let end = min(bytes.count, index + chunkSize)
            chunks.append(UnsafeRawBufferPointer(rebasing: bytes[index..<end]))
            index = end
        }
        let split = run(chunks)
        precondition(whole == split, "whole and split parses differ: \(whole) vs \(split)")
    }

    /// A summary of what was parsed, ending with the error if one stopped the parse.
    static func run(_ chunks: [UnsafeRawBufferPointer]) -> [String] {
        var parser = NATSProtocolParser()
        var buffer = ByteBuffer()
        var summary: [String] = []
        do {
            for chunk in chunks {
                buffer.writeBytes(chunk)
                while let op = try parser.parse(&buffer) {
                    switch op {
                    case .msg(let message):
                        summary.append("MSG \(message.subject) \(message.sid) \(message.replyTo ?? "") \(message.payload.readableBytes) \(message.headers?.fields.count ?? -1)")
                    case .info(let text): summary.append("INFO \(text.utf8.count)")
                    case .err(let text): summary.append("ERR \(text.utf8.count)")
                    case .ping: summary.append("PING")
                    case .pong: summary.append("PONG")
                    case .ok: summary.append("OK")
                    }
                }
            }
        } catch {
            summary.append("error \(error.message)")
        }
        return summary
    }
}

/// Reads a `NATS/1.0` header block (status line, then `Name: Value` lines) into `NATSHeaders`.
enum NATSHeaderParser {
    static func parse(_ block: UnsafeRawBufferPointer) throws(NATSError) -> NATSHeaders {
        var lines = LineScanner(block)
        guard let first = lines.next(), first.count >= 8,
              String(decoding: UnsafeRawBufferPointer(rebasing: first[0..<8]), as: UTF8.self) == "NATS/1.0"
        else {
            throw NATSError(.protocolError, "header block does not start with NATS/1.0")
        }
        var headers = NATSHeaders()
        var status = FieldScanner(UnsafeRawBufferPointer(rebasing: first[8...]))
        if let code = status.next() {
            guard code.count == 3, let value = NATSProtocolParser.parseDecimal(code) else {
                throw NATSError(.protocolError, "bad status in header block")
            }
            headers.status = UInt16(value)
            let description = status.rest
            if !description.isEmpty {
                headers.statusDescription = String(decoding: description, as: UTF8.self)
            }
        }
        while let line = lines.next() {
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0 else {
                throw NATSError(.protocolError, "header line without a name")
            }
            let name = String(decoding: UnsafeRawBufferPointer(rebasing: line[0..<colon]), as: UTF8.self)
            var valueStart = colon + 1
            while valueStart < line.count, line[valueStart] == UInt8(ascii: " ") || line[valueStart] == UInt8(ascii: "\t") {
                valueStart += 1
            }
            let value = String(decoding: UnsafeRawBufferPointer(rebasing: line[valueStart..<line.count]), as: UTF8.self)
            headers.append(value, for: name)
        }
        return headers
    }
}

/// Splits a header block on CRLF.
private struct LineScanner {
    private let block: UnsafeRawBufferPointer
    private var index = 0

    init(_ block: UnsafeRawBufferPointer) {
        self.block = block
    }

    mutating func next() -> UnsafeRawBufferPointer? {
        guard index < block.count else { return nil }
        let start = index
        while index < block.count, block[index] != UInt8(ascii: "\n") { index += 1 }
        var end = index
        if index < block.count { index += 1 }
        if end > start, block[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        return UnsafeRawBufferPointer(rebasing: block[start..<end])
    }
}

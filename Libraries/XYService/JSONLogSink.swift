import NIOConcurrencyHelpers

/// Where JSON log lines go: standard output (one locked write per line), or a closure in tests.
public struct JSONLogSink: Sendable {
    private let writeLine: @Sendable (String) -> Void

    public init(_ writeLine: @escaping @Sendable (String) -> Void) {
        self.writeLine = writeLine
    }

    func write(_ line: String) { writeLine(line) }

    private static let lock = NIOLock()

    /// Standard output, flushed per line so a supervisor (or a test) sees lines as they happen.
    public static let standardOutput = JSONLogSink { line in
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        lock.withLock { Platform.writeAll(1, bytes) }
    }
}

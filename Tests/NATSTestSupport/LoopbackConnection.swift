#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A raw, blocking TCP connection to `127.0.0.1:<port>`, for tests that talk the NATS
/// protocol (or HTTP) byte by byte: read the `INFO` line, send `CONNECT`/`PING`, expect `PONG`.
///
/// Every read waits at most `timeout`, then throws. Owned by one task; not `Sendable`.
public final class LoopbackConnection {
    private var descriptor: Int32
    private var buffer: [UInt8] = []

    /// Connects to `127.0.0.1:port`; reads and writes time out after `timeout`.
    public init(port: Int, timeout: Duration = .seconds(5)) throws {
        #if canImport(Darwin)
        let socketType = SOCK_STREAM
        #else
        let socketType = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        #endif
        let descriptor = socket(AF_INET, socketType, 0)
        guard descriptor >= 0 else { throw Self.failure("socket") }
        self.descriptor = descriptor

        let seconds = timeout.components.seconds
        let microseconds = timeout.components.attoseconds / 1_000_000_000_000
        var time = timeval(tv_sec: .init(seconds), tv_usec: .init(microseconds))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        var noDelay: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))

        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let error = Self.failure("connect to 127.0.0.1:\(port)")
            close()
            throw error
        }
    }

    deinit {
        close()
    }

    /// `true` when something accepts TCP connections on `127.0.0.1:port`.
    public static func canConnect(port: Int) -> Bool {
        (try? LoopbackConnection(port: port, timeout: .seconds(1))) != nil
    }

    /// Writes all of `bytes`.
    public func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { raw in
                #if canImport(Darwin)
                Darwin.send(descriptor, raw.baseAddress, raw.count, 0)
                #else
                Glibc.send(descriptor, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL))
                #endif
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw Self.failure("send")
            }
            offset += written
        }
    }

    /// Writes the UTF-8 bytes of `text` (include the `\r\n` yourself).
    public func send(_ text: String) throws {
        try send(Array(text.utf8))
    }

    /// Reads one line and returns it without its `\r\n` (or `\n`) terminator.
    public func readLine() throws -> String {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                var line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            guard try fill() else {
                throw NATSServerError(.socketFailed, "connection closed before a full line; got \(String(decoding: buffer, as: UTF8.self).debugDescription)")
            }
        }
    }

    /// Reads exactly `count` bytes.
    public func read(count: Int) throws -> [UInt8] {
        while buffer.count < count {
            guard try fill() else {
                throw NATSServerError(.socketFailed, "connection closed after \(buffer.count) of \(count) bytes")
            }
        }
        let bytes = Array(buffer[..<count])
        buffer.removeSubrange(..<count)
        return bytes
    }

    /// Reads until the peer closes the connection, and returns everything not read yet.
    public func readToEnd() throws -> [UInt8] {
        while try fill() {}
        defer { buffer.removeAll() }
        return buffer
    }

    /// Waits until the peer closes the connection and returns everything not read yet, polling
    /// the socket without blocking a thread (for waits of seconds, such as a server's deadline,
    /// that ``readToEnd()`` would spend parked on one of Swift's cooperative threads); throws
    /// after `timeout`.
    public func readToEnd(timeout: Duration) async throws -> [UInt8] {
        try await waitUntil("the peer to close the connection", timeout: timeout, context: { "unread: \(String(decoding: buffer, as: UTF8.self).debugDescription)" }) {
            try !fillAvailable()
        }
        defer { buffer.removeAll() }
        return buffer
    }

    /// Reads lines until one satisfies `predicate`, and returns it (for skipping `PING`s,
    /// `+OK`s or `INFO` updates); throws after `maxLines` lines.
    public func readLine(where predicate: (String) -> Bool, maxLines: Int = 100) throws -> String {
        var seen: [String] = []
        for _ in 0..<maxLines {
            let line = try readLine()
            if predicate(line) { return line }
            seen.append(line)
        }
        throw NATSServerError(.socketFailed, "no matching line among: \(seen)")
    }

    /// Closes the socket; further calls fail. Idempotent.
    public func close() {
        if descriptor >= 0 {
            #if canImport(Darwin)
            Darwin.close(descriptor)
            #else
            Glibc.close(descriptor)
            #endif
            descriptor = -1
        }
    }

    /// Appends what the socket has to the buffer; `false` at end of stream.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { raw in
                recv(descriptor, raw.baseAddress, raw.count, 0)
            }
            if count > 0 {
                buffer.append(contentsOf: chunk[..<count])
                return true
            }
            if count == 0 { return false }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK {
                throw NATSServerError(.socketFailed, "read timed out; unread: \(String(decoding: buffer, as: UTF8.self).debugDescription)")
            }
            throw Self.failure("recv")
        }
    }

    /// Appends what the socket has now, without waiting; `false` at end of stream.
    private func fillAvailable() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { raw in
                recv(descriptor, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT))
            }
            if count > 0 {
                buffer.append(contentsOf: chunk[..<count])
                continue
            }
            if count == 0 { return false }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { return true }
            throw Self.failure("recv")
        }
    }

    private static func failure(_ operation: String) -> NATSServerError {
        NATSServerError(.socketFailed, "\(operation) failed: \(String(cString: strerror(errno)))")
    }
}

@available(*, unavailable)
extension LoopbackConnection: Sendable {}

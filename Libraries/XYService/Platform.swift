#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The few operating-system facts the runtime needs, without pulling Foundation into every file.
enum Platform {
    static func isReadableFile(_ path: String) -> Bool {
        access(path, R_OK) == 0
    }

    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func processID() -> Int32 { getpid() }

    /// Wall-clock nanoseconds since the Unix epoch.
    static func wallClockNanoseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }
}

/// Wall-clock nanoseconds since the Unix epoch: the time base of every `*_ns` field.
public func wallClockNanoseconds() -> Int64 {
    Platform.wallClockNanoseconds()
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Wall-clock nanoseconds since the Unix epoch (CLOCK_REALTIME): the time base of every `*_ns`
/// field, comparable with times other processes stamped.
public func wallClockNanoseconds() -> Int64 {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
}

/// Monotonic nanoseconds (CLOCK_MONOTONIC) for measuring intervals inside one process: never steps
/// back when the wall clock is set, and cheap enough to read per frame.
public func monotonicNanoseconds() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
}

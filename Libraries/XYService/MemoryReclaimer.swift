#if canImport(Glibc)
import Glibc
#endif
import Logging
import ServiceLifecycle

/// Gives the heap's free pages back to the system now and then. glibc keeps what a burst
/// freed (thousands of connections' buffers, a flood's queues) in its arenas, so a process's RSS
/// never shrinks after a peak; `malloc_trim(0)` releases it. A no-op where there is no glibc.
public struct MemoryReclaimer: Service {
    private let interval: Duration
    private let logger: Logger

    public init(interval: Duration = .seconds(15), logger: Logger) {
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        guard let trim = Self.trim else {
            // Nothing to do here, but a service that returns would stop the whole group.
            try? await gracefulShutdown()
            return
        }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await Task.sleep(for: self.interval) } catch { return }
                _ = trim(0)
            }
        }
    }

    /// glibc's `malloc_trim`, found at run time (Swift's Glibc module does not declare `malloc.h`).
    static let trim: (@convention(c) (Int) -> Int32)? = {
        #if canImport(Glibc)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        #else
        return nil
        #endif
    }()
}

import Foundation

/// One thread that lives as long as the process and does every `posix_spawn` of a server.
///
/// Linux sends the parent-death signal (`setpriv --pdeathsig`) when the *thread* that
/// created a child exits, not the process; Swift's cooperative pool threads come and go,
/// so servers are spawned from here. Then a crashed or killed test process takes its
/// servers with it instead of leaving them running.
final class SpawnerThread: @unchecked Sendable {
    static let shared = SpawnerThread()

    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []

    private init() {
        let thread = Thread { [self] in
            self.serve()
        }
        thread.name = "NATSTestSupport.spawner"
        thread.start()
    }

    /// Runs `body` on the spawner thread and returns its result; the caller suspends meanwhile
    /// (a semaphore would hold one of Swift's cooperative threads).
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            condition.lock()
            jobs.append { continuation.resume(with: Result { try body() }) }
            condition.signal()
            condition.unlock()
        }
    }

    private func serve() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }
}

/// A condition a test waited for did not hold in time; the message names it and what was seen.
public struct WaitTimeout: Error, CustomStringConvertible {
    public let description: String
}

/// Polls `condition` every `interval` until it holds, and throws ``WaitTimeout`` naming `what`
/// (with `context()`, say a service's log) once `timeout` has passed: the one way tests wait for
/// something to happen, instead of sleeping and hoping it did. An error from `condition` ends the
/// wait at once.
public func waitUntil(
    _ what: String,
    timeout: Duration = .seconds(15),
    every interval: Duration = .milliseconds(20),
    context: () -> String = { "" },
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else {
            let seen = context()
            throw WaitTimeout(description: "timed out after \(timeout) waiting for \(what)" + (seen.isEmpty ? "" : "; \(seen)"))
        }
        try await Task.sleep(for: interval)
    }
}

/// At most one log line per interval for a repeating problem (malformed vendor events can arrive
/// thousands per second), with the count of what was suppressed in between.
struct LogThrottle {
    private var lastLogged: ContinuousClock.Instant?
    private var suppressed = 0
    let interval: Duration

    init(interval: Duration = .seconds(1)) {
        self.interval = interval
    }

    /// Whether to log now; `suppressed` is how many were skipped since the last line.
    mutating func shouldLog() -> (log: Bool, suppressed: Int) {
        let now = ContinuousClock.now
        if let lastLogged, now - lastLogged < interval {
            suppressed += 1
            return (false, 0)
        }
        lastLogged = now
        defer { suppressed = 0 }
        return (true, suppressed)
    }
}

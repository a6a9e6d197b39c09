import Testing

/// xy-realtime's reassembly cap end to end: the real `xy sim polygon` sends a fragmented message
/// bigger than `UPSTREAM_MAX_MESSAGE_BYTES`; the real binary closes, counts and reconnects.
@Suite("xy-realtime: vendor messages over the cap")
struct RealtimeOversizedMessageTests {
    @Test("--oversized-message: a fragmented message over UPSTREAM_MAX_MESSAGE_BYTES closes the connection with XYW109, is counted as too_large, and the proxy reconnects")
    func oversizedMessage() async throws {
        let harness = try await RealtimeHarness.start(
            simArguments: ["--symbols", "AAPL", "--rate", "100", "--max-connections", "2", "--oversized-message", "\(4 << 20)"],
            environment: ["UPSTREAM_SYMBOLS": "AAPL", "UPSTREAM_MAX_MESSAGE_BYTES": "\(1 << 20)"]
        )
        do {
            try await harness.eventually("two messages refused as too large") {
                try harness.metric("xy_upstream_malformed_total", labels: "reason=\"too_large\"") ?? 0 >= 2
            }
            #expect(try harness.metric("xy_upstream_reconnects_total") ?? 0 >= 1)
            let log = harness.realtime.log
            #expect(log.contains("\"code\":\"XYW109\""))
            #expect(log.contains("\"failure\":\"messageTooLarge\""))
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }
}

import Foundation
import NATS
import NATSTestSupport
import PolygonSim
import Testing
import XYContracts

/// xy-realtime end to end: the real nats-server, the real simulator binary, the real service.
@Suite("xy-realtime end to end", .serialized)
struct RealtimeEndToEndTests {
    @Test("a seeded run arrives on NATS complete and in order per symbol; healthz, metrics, no key anywhere")
    func seededRunCompleteAndInOrder() async throws {
        let symbols = ["AAPL", "MSFT", "BRK.B"]
        let harness = try await RealtimeHarness.start(
            simArguments: ["--symbols", symbols.joined(separator: ","), "--rate", "3000", "--seed", "7"],
            environment: ["UPSTREAM_SYMBOLS": symbols.joined(separator: ","), "UPSTREAM_CHANNELS": "T,Q,A,AM"]
        )
        let collector = try await harness.collectEvents()
        // Shares follow activity (AAPL 880, MSFT 740, BRK.B 100): 6,000 events hold 300 of BRK.B.
        try await collector.waitFor(count: 6000)
        let received = collector.snapshot

        // Replay the market from the same seed: what each symbol must have received, in order.
        var market = SimMarket(symbols: symbols, seed: 7)
        var expected: [String: [SimEvent]] = [:]
        for _ in 0..<200_000 {
            let event = market.next(timeMilliseconds: 0)
            expected[event.symbol, default: []].append(event)
        }
        for symbol in symbols {
            let got = received.filter { $0.symbol == symbol }
            #expect(got.count > 300, "\(symbol): only \(got.count) events")
            guard let first = got.first(where: { $0.vendorSequence > 0 }),
                  let startIndex = expected[symbol]?.firstIndex(where: { $0.sequence == first.vendorSequence }),
                  let firstGotIndex = got.firstIndex(where: { $0.vendorSequence > 0 })
            else {
                Issue.record("\(symbol): no sequenced event")
                continue
            }
            let wanted = expected[symbol]![startIndex...]
            var mismatches = 0
            for (event, sent) in zip(got[firstGotIndex...], wanted) where !Self.matches(event, sent) {
                mismatches += 1
                if mismatches < 5 { Issue.record("\(symbol): got \(event) for \(sent)") }
            }
            #expect(mismatches == 0, "\(symbol): \(mismatches) events differ from the seeded market")
            #expect(got.allSatisfy { $0.source == "polygon" && $0.receiveTimeNs >= $0.eventTimeNs - 1_000_000 && $0.eventTimeNs > 0 })
        }
        #expect(collector.receivedSubjects.contains("xy.md.event.BRK_B"))

        let health = try harness.get("/healthz")
        #expect(health.status == 200, "\(health.body)")
        #expect(try harness.metric("xy_upstream_connected") == 1)
        #expect(try harness.metric("xy_upstream_events_total", labels: "ev=\"T\"") ?? 0 > 0)
        #expect(try harness.metric("xy_upstream_events_total", labels: "ev=\"AM\"") ?? 0 > 0)
        #expect(try harness.metric("xy_md_published_total") ?? 0 >= 3000)
        #expect(try harness.metric("xy_ingest_latency_seconds_count") ?? 0 > 0)
        let metrics = try harness.get("/metrics").body
        #expect(!metrics.contains(RealtimeHarness.apiKey))
        #expect(!health.body.contains(RealtimeHarness.apiKey))

        // Graceful stop within the bound, with the key nowhere in what the service printed.
        let (status, elapsed) = await harness.realtime.terminate()
        #expect(status == 0)
        #expect(elapsed < .seconds(10))
        let log = harness.realtime.log
        #expect(!log.contains(RealtimeHarness.apiKey))
        #expect(log.contains("\"msg\":\"stopped\""))
        await harness.stop()
    }

    @Test("--drop-every: reconnect, re-authenticate, resubscribe; data flows again and the counter rises")
    func dropEvery() async throws {
        let harness = try await RealtimeHarness.start(
            simArguments: ["--symbols", "AAPL,MSFT", "--rate", "500", "--drop-every", "1500ms"],
            environment: ["UPSTREAM_SYMBOLS": "AAPL,MSFT"]
        )
        let collector = try await harness.collectEvents()
        try await harness.eventually("two reconnects") { try harness.metric("xy_upstream_reconnects_total") ?? 0 >= 2 }
        let afterReconnects = collector.count
        try await collector.waitFor(count: afterReconnects + 200, timeout: .seconds(10))
        try await harness.eventually("upstream up again") { try harness.metric("xy_upstream_connected") == 1 }
        #expect(harness.realtime.log.contains("XYW105"))
        #expect(harness.realtime.log.components(separatedBy: "upstream authenticated and subscribed").count >= 3)
        #expect(!harness.realtime.log.contains(RealtimeHarness.apiKey))
        await harness.stop()
    }

    @Test("--stall-after: the silence watchdog recycles the connection and data flows again")
    func stallAfter() async throws {
        let harness = try await RealtimeHarness.start(
            simArguments: ["--symbols", "AAPL", "--rate", "300", "--stall-after", "1s"],
            environment: ["UPSTREAM_SYMBOLS": "AAPL", "UPSTREAM_SILENCE_TIMEOUT": "1s"]
        )
        let collector = try await harness.collectEvents()
        try await harness.eventually("a reconnect after silence") { try harness.metric("xy_upstream_reconnects_total") ?? 0 >= 1 }
        let afterReconnect = collector.count
        try await collector.waitFor(count: afterReconnect + 50, timeout: .seconds(10))
        #expect(harness.realtime.log.contains("XYW106"))
        await harness.stop()
    }

    @Test("--reject-auth: the auth code, unready health, and a slow retry")
    func rejectAuth() async throws {
        let harness = try await RealtimeHarness.start(
            simArguments: ["--symbols", "AAPL", "--reject-auth"],
            environment: ["UPSTREAM_SYMBOLS": "AAPL", "UPSTREAM_AUTH_RETRY": "3s"]
        )
        // Hammering would try again after the 100 ms backoff; the slow retry waits 3 s (± 10 %).
        var refusals: [Date] = []
        try await harness.eventually("a second auth_failed") {
            refusals = Self.loggedTimes(of: "XYW101", message: "upstream refused us; retrying slowly", in: harness.realtime.log)
            return refusals.count >= 2
        }
        let retriedAfter = refusals[1].timeIntervalSince(refusals[0])
        #expect(retriedAfter >= 2.5, "tried again \(retriedAfter) s after auth_failed, UPSTREAM_AUTH_RETRY is 3 s")
        let reconnects = try harness.metric("xy_upstream_reconnects_total") ?? 0
        #expect(reconnects >= 1 && reconnects <= 2, "reconnects: \(reconnects)")
        let health = try harness.get("/healthz")
        #expect(health.status == 503)
        #expect(health.body.contains("upstream"))
        #expect(try harness.metric("xy_upstream_connected") == 0)
        let log = harness.realtime.log
        #expect(log.contains("\"level\":\"error\""))
        #expect(!log.contains(RealtimeHarness.apiKey))
        #expect(!(try harness.get("/metrics").body.contains(RealtimeHarness.apiKey)))
        #expect(!health.body.contains(RealtimeHarness.apiKey))
        await harness.stop()
    }

    @Test("malformed vendor events are counted and skipped; the rest of each frame still arrives")
    func malformedFrames() async throws {
        let harness = try await RealtimeHarness.start(
            simArguments: ["--symbols", "AAPL", "--rate", "1000", "--malformed-every", "10"],
            environment: ["UPSTREAM_SYMBOLS": "AAPL", "UPSTREAM_CHANNELS": "T,Q,A,AM"]
        )
        let collector = try await harness.collectEvents()
        try await collector.waitFor(count: 1000)
        try await harness.eventually("malformed counted by reason") {
            try harness.metric("xy_upstream_malformed_total", labels: "reason=\"syntax\"") ?? 0 > 0
                && harness.metric("xy_upstream_malformed_total", labels: "reason=\"invalid_event\"") ?? 0 > 0
                && harness.metric("xy_upstream_malformed_total", labels: "reason=\"unknown_ev\"") ?? 0 > 0
        }
        // Every vendor sequence from the first to the last arrived: nothing after a bad element was lost.
        let sequences = collector.snapshot.map(\.vendorSequence).filter { $0 > 0 }
        let gaps = zip(sequences, sequences.dropFirst()).filter { $1 != $0 + 1 && !($1 == $0 + 2 && ($0 + 1) % 25 == 0) }
        #expect(gaps.isEmpty, "gaps: \(gaps.prefix(5))")
        #expect(harness.realtime.log.contains("XYW103"))
        await harness.stop()
    }

    @Test("NATS restarted under load: events resume")
    func natsRestart() async throws {
        let harness = try await RealtimeHarness.start(
            simArguments: ["--symbols", "20", "--rate", "2000"],
            environment: ["UPSTREAM_SYMBOLS": "*"]
        )
        let collector = try await harness.collectEvents()
        try await collector.waitFor(count: 1000)
        try await harness.nats.restart()
        let afterRestart = collector.count
        try await collector.waitFor(count: afterRestart + 2000, timeout: .seconds(30))
        try await harness.eventually("ready again") { try harness.get("/healthz").status == 200 }
        await harness.stop()
    }

    @Test("interest grows and shrinks through xy.ctl.upstream.subscribe/unsubscribe, within the maximum")
    func controlRequests() async throws {
        let harness = try await RealtimeHarness.start(
            simArguments: ["--symbols", "AAPL,MSFT,SPY", "--rate", "600"],
            environment: ["UPSTREAM_SYMBOLS": "AAPL", "UPSTREAM_MAX_SYMBOLS": "2"]
        )
        let collector = try await harness.collectEvents()
        try await collector.waitFor(count: 100)
        #expect(!collector.snapshot.contains { $0.symbol == "MSFT" })
        let client = try #require(harness.client)
        let reply = try await client.request(Subjects.upstreamSubscribe, #"{"symbols":["MSFT","SPY"]}"#)
        let text = reply.string
        #expect(text.contains(#""changed":["MSFT"]"#), "\(text)")
        #expect(text.contains(#""rejected":["SPY"]"#), "\(text)")
        #expect(text.contains("XYW107"))
        try await harness.eventually("MSFT events") { collector.snapshot.contains { $0.symbol == "MSFT" } }
        let dropped = try await client.request(Subjects.upstreamUnsubscribe, "AAPL")
        #expect(dropped.string.contains(#""changed":["AAPL"]"#))
        // AAPL events still in flight may arrive; then only MSFT. While both are subscribed they
        // interleave, so a run of 100 events without AAPL never comes.
        try await harness.eventually("100 events after the last AAPL one") {
            let events = collector.snapshot
            guard let last = events.lastIndex(where: { $0.symbol == "AAPL" }) else { return false }
            return events.count - last > 100
        }
        await harness.stop()
    }

    @Test("a second proxy on the same key gets max_connections, reported with its own code")
    func maxConnections() async throws {
        let harness = try await RealtimeHarness.start(
            simArguments: ["--symbols", "AAPL", "--rate", "100", "--max-connections", "1"],
            environment: ["UPSTREAM_SYMBOLS": "AAPL"]
        )
        try await harness.eventually("first proxy streaming") { try harness.metric("xy_upstream_connected") == 1 }
        let (second, secondPort) = try await RealtimeHarness.startRealtime(
            natsURL: harness.nats.url, simPort: harness.simPort,
            environment: ["UPSTREAM_SYMBOLS": "AAPL", "UPSTREAM_MAX_CONNECTIONS_RETRY": "5s"]
        )
        try await second.waitForOutput { $0.contains("XYW102") ? "" : nil }
        #expect(try RealtimeHarness.get(port: secondPort, "/healthz").status == 503)
        #expect(try harness.metric("xy_upstream_connected") == 1)
        #expect(!second.log.contains(RealtimeHarness.apiKey))
        await second.terminate()
        await harness.stop()
    }

    /// The `ts` of each log line with error code `code` and message `message`, in order.
    static func loggedTimes(of code: String, message: String, in log: String) -> [Date] {
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let lines = log.split(separator: "\n").filter { $0.contains("\"code\":\"\(code)\"") && $0.contains("\"msg\":\"\(message)\"") }
        return lines.compactMap { line in
            guard let start = line.range(of: "\"ts\":\"") else { return nil }
            return format.date(from: String(line[start.upperBound...].prefix { $0 != "\"" }))
        }
    }

    static func matches(_ event: Xy_Md_V1_MarketEvent, _ sent: SimEvent) -> Bool {
        guard event.symbol == sent.symbol else { return false }
        switch event.event {
        case .trade(let trade):
            return sent.channel == .trade && event.vendorSequence == sent.sequence && trade.price == Double(sent.priceCents) / 100
                && trade.size == Double(sent.size) && trade.tradeID == sent.tradeID && trade.exchange == Int32(sent.exchange)
        case .quote(let quote):
            return sent.channel == .quote && event.vendorSequence == sent.sequence && quote.bidPrice == Double(sent.bidCents) / 100
                && quote.askPrice == Double(sent.askCents) / 100 && quote.bidSize == Double(sent.bidSize)
        case .aggregate(let aggregate):
            return (sent.channel == .secondAggregate || sent.channel == .minuteAggregate) && aggregate.open == Double(sent.openCents) / 100
                && aggregate.close == Double(sent.closeCents) / 100 && aggregate.volume == Double(sent.volume)
        case nil:
            return false
        }
    }
}

@Suite("xy sim polygon REST")
struct SimulatorRESTTests {
    @Test("aggregates range and snapshot tickers in the vendor's shapes; the key is checked")
    func rest() async throws {
        let key = "rest-key-123"
        let (sim, port) = try await RealtimeHarness.startSimulator(["--api-key", key, "--symbols", "AAPL,MSFT", "--seed", "3"])

        let aggs = try RealtimeHarness.get(port: port, "/v2/aggs/ticker/AAPL/range/1/day/2024-01-02/2024-01-05?apiKey=\(key)")
        #expect(aggs.status == 200)
        let aggsJSON = try #require(try JSONSerialization.jsonObject(with: Data(aggs.body.utf8)) as? [String: Any])
        #expect(aggsJSON["ticker"] as? String == "AAPL")
        #expect(aggsJSON["status"] as? String == "OK")
        #expect(aggsJSON["resultsCount"] as? Int == 4)
        let bars = try #require(aggsJSON["results"] as? [[String: Any]])
        #expect(bars.count == 4)
        for field in ["v", "vw", "o", "c", "h", "l", "t", "n"] {
            #expect(bars.allSatisfy { $0[field] != nil }, "bar field \(field)")
        }
        #expect(bars.first?["t"] as? Int == 1_704_153_600_000)
        // Deterministic: the same request gives the same bars.
        #expect(try RealtimeHarness.get(port: port, "/v2/aggs/ticker/AAPL/range/1/day/2024-01-02/2024-01-05?apiKey=\(key)").body.contains(aggs.body.prefix(120)))

        let snapshot = try RealtimeHarness.get(port: port, "/v2/snapshot/locale/us/markets/stocks/tickers?tickers=MSFT&apiKey=\(key)")
        #expect(snapshot.status == 200)
        let snapshotJSON = try #require(try JSONSerialization.jsonObject(with: Data(snapshot.body.utf8)) as? [String: Any])
        #expect(snapshotJSON["count"] as? Int == 1)
        let ticker = try #require((snapshotJSON["tickers"] as? [[String: Any]])?.first)
        #expect(ticker["ticker"] as? String == "MSFT")
        for field in ["day", "min", "prevDay", "lastTrade", "lastQuote", "todaysChange", "todaysChangePerc", "updated"] {
            #expect(ticker[field] != nil, "snapshot field \(field)")
        }
        #expect((ticker["lastQuote"] as? [String: Any])?["P"] != nil)

        #expect(try RealtimeHarness.get(port: port, "/v2/snapshot/locale/us/markets/stocks/tickers").status == 401)
        #expect(try RealtimeHarness.get(port: port, "/v2/snapshot/locale/us/markets/stocks/tickers?apiKey=wrong").status == 401)
        #expect(try RealtimeHarness.get(port: port, "/v2/aggs/ticker/AAPL/range/1/fortnight/2024-01-02/2024-01-05?apiKey=\(key)").status == 400)
        await sim.terminate()
    }
}

@Suite("xy-realtime configuration")
struct RealtimeConfigurationTests {
    @Test("--help lists every variable with its default")
    func help() async throws {
        let process = try ManagedProcess("xy-realtime", arguments: ["--help"])
        #expect(try await process.waitForExit() == 0)
        let text = process.log
        for name in ["NATS_URLS", "NATS_CREDS", "NATS_NKEY_SEED_FILE", "NATS_TLS_CA", "NATS_TLS_CERT", "NATS_TLS_KEY", "HTTP_PORT", "LOG_LEVEL", "UPSTREAM_URL", "UPSTREAM_API_KEY", "UPSTREAM_SYMBOLS", "UPSTREAM_CHANNELS"] {
            #expect(text.contains(name), "\(name) missing from --help")
        }
        #expect(text.contains("(default: T,Q,AM)"))
        #expect(text.contains("(default: 9101)"))
    }

    @Test("a missing or malformed variable exits 2 naming it", arguments: [
        ([String: String](), "UPSTREAM_URL"),
        (["UPSTREAM_URL": "http://x", "UPSTREAM_API_KEY": "k"], "UPSTREAM_URL"),
        (["UPSTREAM_URL": "ws://127.0.0.1:1/stocks"], "UPSTREAM_API_KEY"),
        (["UPSTREAM_URL": "ws://127.0.0.1:1/stocks", "UPSTREAM_API_KEY": "k", "UPSTREAM_CHANNELS": "T,X"], "UPSTREAM_CHANNELS"),
        (["UPSTREAM_URL": "ws://127.0.0.1:1/stocks", "UPSTREAM_API_KEY": "k", "HTTP_PORT": "http"], "HTTP_PORT"),
    ])
    func invalid(environment: [String: String], variable: String) async throws {
        let process = try ManagedProcess("xy-realtime", environment: environment)
        #expect(try await process.waitForExit() == 2)
        #expect(process.log.contains(variable))
        #expect(process.log.contains("XYW010"))
    }
}

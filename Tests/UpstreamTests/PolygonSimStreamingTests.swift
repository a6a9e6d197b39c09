import Foundation
import Logging
import NATSTestSupport
import NIOConcurrencyHelpers
import PolygonSim
import Testing
import WSClient

/// The simulator over its real sockets (WebSocket at /stocks and REST on one loopback port): it
/// streams only what a client subscribes to, stops on unsubscribe, and its REST answers agree with
/// the walk the WebSocket carries, for a ticker nobody listed.
@Suite("Polygon simulator streaming", .serialized)
struct PolygonSimStreamingTests {
    static let key = "stream-test-key"

    @Test("a named ticker streams alone, as the seeded walk replays; unsubscribe stops it; REST agrees", .timeLimit(.minutes(2)))
    func subscribedOnly() async throws {
        var configuration = PolygonSimConfiguration()
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.apiKey = Self.key
        configuration.seed = 21
        // Listed names trade only under a wildcard, which this client never sends.
        configuration.symbols = ["SPY", "AAPL"]
        // 106 events/s per unit of activity: ZZZQ and WXYZ (activity 1 to 5) stream briskly.
        configuration.rate = 200_000
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let server = PolygonSimServer(configuration: configuration, logger: Logger(label: "sim")) { portSink.yield($0) }
        let serverTask = Task { try await server.run() }
        defer { serverTask.cancel() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        let base = port

        // Before anyone subscribes, REST already knows ZZZQ: its reference close and its open.
        let profile = SimUniverse.instrument(for: "ZZZQ")
        let start = SimMarket(symbols: [], seed: 21).state(of: "ZZZQ")
        let before = try #require(try await Self.snapshot(base, "ZZZQ"))
        #expect(Self.number(before, "prevDay", "c") == Double(profile.referenceCents) / 100)
        #expect(Self.number(before, "day", "o") == Double(start.dayOpenCents) / 100)
        #expect(Self.number(before, "lastTrade", "p") == Double(start.priceCents) / 100)
        // Its daily bars sit around the same reference, within 5 % and a wiggle.
        let bars = try await Self.json(base, "/v2/aggs/ticker/ZZZQ/range/1/day/2025-06-02/2025-06-06?apiKey=\(Self.key)")
        let closes = (bars["results"] as? [[String: Any]] ?? []).compactMap { $0["c"] as? Double }
        #expect(closes.count == 5)
        // A day's volume follows activity: 100 shares a minute per unit over a 390-minute session.
        let volumes = (bars["results"] as? [[String: Any]] ?? []).compactMap { ($0["v"] as? NSNumber)?.int64Value }
        let typical = Int64(profile.activity) * 100 * 390
        #expect(volumes.count == 5 && volumes.allSatisfy { $0 >= typical / 2 && $0 <= typical * 3 / 2 })
        #expect(closes.allSatisfy { abs($0 * 100 - Double(profile.referenceCents)) <= Double(profile.referenceCents) * 0.051 + 1 })
        // A name no vendor has: no bars, no snapshot.
        #expect(try await Self.json(base, "/v2/aggs/ticker/NO_SUCH/range/1/day/2025-06-02/2025-06-06?apiKey=\(Self.key)")["resultsCount"] as? Int == 0)
        #expect(try await Self.snapshot(base, "NO_SUCH") == nil)

        let client = SimTestClient()
        let session = Task {
            try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/stocks", logger: Logger(label: "client")) { inbound, outbound, _ in
                await client.run(inbound: inbound, outbound: outbound)
            }
        }
        defer { session.cancel() }
        try await client.eventually("connected") { client.statuses.contains("connected") }
        client.send(#"{"action":"auth","params":"\#(Self.key)"}"#)
        try await client.eventually("authenticated") { client.statuses.contains("auth_success") }
        #expect(server.feed.activeSymbols.isEmpty)
        client.send(#"{"action":"subscribe","params":"T.ZZZQ,Q.ZZZQ"}"#)
        try await client.eventually("300 ZZZQ events") { client.events.count >= 300 }
        // What the vendor was asked for, as a subscriber's test sees it.
        let streaming = try await Self.json(base, "/sim/streaming")
        #expect(streaming["symbols"] as? [String] == ["ZZZQ"])
        #expect((streaming["eventsPerSecond"] as? NSNumber)?.doubleValue == server.feed.rate(of: "ZZZQ"))
        client.send(#"{"action":"unsubscribe","params":"T.ZZZQ,Q.ZZZQ"}"#)
        try await client.eventually("both unsubscribed") { client.messages.filter { $0.hasPrefix("unsubscribed to: ") }.count == 2 }
        // Another name: once its first event is in, every ZZZQ event the market made has arrived
        // (batches arrive in order and ZZZQ stopped before WXYZ started).
        client.send(#"{"action":"subscribe","params":"T.WXYZ"}"#)
        try await client.eventually("WXYZ events") { client.events.filter { $0.symbol == "WXYZ" }.count >= 20 }
        #expect(server.feed.activeSymbols == ["WXYZ"])

        let received = client.events
        let firstOther = try #require(received.firstIndex { $0.symbol == "WXYZ" })
        #expect(received[..<firstOther].allSatisfy { $0.symbol == "ZZZQ" }, "only ZZZQ until WXYZ was subscribed")
        #expect(received[firstOther...].allSatisfy { $0.symbol == "WXYZ" }, "no ZZZQ after it was unsubscribed")
        #expect(received.allSatisfy { $0.ev == "T" || $0.ev == "Q" }, "only the channels asked for")

        // The same seed replays ZZZQ's walk exactly: sequence numbers from 1, prices, quotes.
        let zzzq = Array(received[..<firstOther])
        var replay = SimMarket(symbols: ["ZZZQ"], seed: 21)
        var expected: [SimEvent] = []
        while expected.count < zzzq.count {
            let event = replay.next(timeMilliseconds: 0)
            if event.channel == .trade || event.channel == .quote { expected.append(event) }
        }
        for (got, sent) in zip(zzzq, expected) {
            #expect(got.sequence == sent.sequence && got.ev == sent.channel.wireName)
            #expect(got.price == Double(sent.channel == .trade ? sent.priceCents : sent.bidCents) / 100, "q \(got.sequence)")
        }

        // After it stopped, the snapshot shows where the walk stopped: the replay's state at the
        // same trade count (events still queued for the client when it unsubscribed are dropped,
        // so the snapshot may be a few events past what arrived, never before it).
        let after = try #require(try await Self.snapshot(base, "ZZZQ"))
        let trades = try #require(UInt64(((after["lastTrade"] as? [String: Any])?["i"] as? String) ?? ""))
        var stopped = SimMarket(symbols: ["ZZZQ"], seed: 21)
        while stopped.state(of: "ZZZQ").tradeCount < trades {
            _ = stopped.next(timeMilliseconds: 0)
        }
        #expect(Self.number(after, "lastTrade", "p") == Double(stopped.state(of: "ZZZQ").lastTradeCents) / 100)
        // The walk may have quoted after that trade before it stopped: one of those states.
        var candidates = [stopped.state(of: "ZZZQ")]
        while candidates.count < 5 {
            var ahead = stopped
            guard ahead.next(timeMilliseconds: 0).channel != .trade else { break }
            stopped = ahead
            candidates.append(stopped.state(of: "ZZZQ"))
        }
        let bid = Self.number(after, "lastQuote", "p")
        let ask = Self.number(after, "lastQuote", "P")
        let matched = candidates.last { Double($0.bidCents) / 100 == bid && Double($0.askCents) / 100 == ask }
        #expect(matched != nil)
        #expect(matched?.sequence ?? 0 >= zzzq.last?.sequence ?? 0, "the snapshot is never behind what streamed")
        #expect(Self.number(after, "prevDay", "c") == Double(profile.referenceCents) / 100)

        // The client goes: nothing trades.
        client.close()
        try await client.eventually("the market idles") { server.feed.activeSymbols.isEmpty }
    }

    @Test("two connections: each gets only what it asked for; the market trades the union until each leaves", .timeLimit(.minutes(2)))
    func perConnection() async throws {
        var configuration = PolygonSimConfiguration()
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.apiKey = Self.key
        configuration.maxConnections = 2
        // One quiet listed name at 200 events/s per unit of activity.
        configuration.symbols = ["WXYZ"]
        configuration.rate = 200 * Double(SimUniverse.instrument(for: "WXYZ").activity)
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let server = PolygonSimServer(configuration: configuration, logger: Logger(label: "sim")) { portSink.yield($0) }
        let serverTask = Task { try await server.run() }
        defer { serverTask.cancel() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())

        let named = SimTestClient()
        let wildcard = SimTestClient()
        var sessions: [Task<Void, any Error>] = []
        for client in [named, wildcard] {
            sessions.append(Task {
                try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/stocks", logger: Logger(label: "client")) { inbound, outbound, _ in
                    await client.run(inbound: inbound, outbound: outbound)
                }
            })
            try await client.eventually("connected") { client.statuses.contains("connected") }
            client.send(#"{"action":"auth","params":"\#(Self.key)"}"#)
            try await client.eventually("authenticated") { client.statuses.contains("auth_success") }
        }
        defer { for session in sessions { session.cancel() } }
        named.send(#"{"action":"subscribe","params":"T.ZZZQ"}"#)
        wildcard.send(#"{"action":"subscribe","params":"Q.*"}"#)
        try await named.eventually("ZZZQ trades") { named.events.count >= 50 }
        try await wildcard.eventually("quotes of both") { Set(wildcard.events.map(\.symbol)) == ["WXYZ", "ZZZQ"] }
        #expect(server.feed.activeSymbols == ["WXYZ", "ZZZQ"])
        // The named client: ZZZQ trades only; the wildcard: quotes only, of whatever trades.
        #expect(named.events.allSatisfy { $0.symbol == "ZZZQ" && $0.ev == "T" })
        #expect(wildcard.events.allSatisfy { $0.ev == "Q" })

        // The wildcard goes: the listed name stops, the named one goes on.
        wildcard.send(#"{"action":"unsubscribe","params":"Q.*"}"#)
        try await wildcard.eventually("unsubscribed") { wildcard.messages.contains("unsubscribed to: Q.*") }
        #expect(server.feed.activeSymbols == ["ZZZQ"])
        let streaming = try await Self.json(port, "/sim/streaming")
        #expect(streaming["symbols"] as? [String] == ["ZZZQ"])
        // The named client leaves: nothing trades.
        named.close()
        try await named.eventually("the market idles") { server.feed.activeSymbols.isEmpty }
        wildcard.close()
    }

    /// The snapshot entry of one ticker, or nil when the simulator left it out.
    static func snapshot(_ port: Int, _ ticker: String) async throws -> [String: Any]? {
        let body = try await json(port, "/v2/snapshot/locale/us/markets/stocks/tickers?tickers=\(ticker)&apiKey=\(key)")
        return (body["tickers"] as? [[String: Any]])?.first
    }

    /// `GET path` without parking a cooperative thread: the simulator answers on the same pool.
    static func json(_ port: Int, _ path: String) async throws -> [String: Any] {
        let connection = try LoopbackConnection(port: port)
        defer { connection.close() }
        try connection.send("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        let text = String(decoding: try await connection.readToEnd(timeout: .seconds(30)), as: UTF8.self)
        let status = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
        let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
        #expect(status == 200, "\(path): \(body.prefix(200))")
        return try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
    }

    static func number(_ object: [String: Any], _ section: String, _ field: String) -> Double? {
        ((object[section] as? [String: Any])?[field] as? NSNumber)?.doubleValue
    }
}

/// A minimal vendor client for the test: sends what it is given, records status messages and the
/// events (symbol, channel, `q`, trade price or bid) in arrival order.
final class SimTestClient: Sendable {
    struct Event: Sendable {
        var ev: String
        var symbol: String
        var sequence: UInt64
        var price: Double
    }

    private struct State {
        var statuses: [String] = []
        var messages: [String] = []
        var events: [Event] = []
        var outgoing: AsyncStream<String>.Continuation?
    }

    private let state = NIOLockedValueBox(State())
    private let outgoing: AsyncStream<String>

    init() {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self)
        outgoing = stream
        state.withLockedValue { $0.outgoing = continuation }
    }

    var statuses: [String] { state.withLockedValue { $0.statuses } }
    var messages: [String] { state.withLockedValue { $0.messages } }
    var events: [Event] { state.withLockedValue { $0.events } }

    func send(_ text: String) {
        _ = state.withLockedValue { $0.outgoing?.yield(text) }
    }

    func close() {
        state.withLockedValue { $0.outgoing?.finish() }
    }

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await text in self.outgoing {
                    try? await outbound.write(.text(text))
                }
                try? await outbound.close(.normalClosure, reason: nil)
            }
            group.addTask {
                do {
                    for try await message in inbound.messages(maxSize: 1 << 22) {
                        guard case .text(let text) = message else { continue }
                        self.record(text)
                    }
                } catch {}
                self.close()
            }
        }
    }

    private func record(_ text: String) {
        guard let items = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] else { return }
        state.withLockedValue { state in
            for item in items {
                guard let ev = item["ev"] as? String else { continue }
                if ev == "status" {
                    state.statuses.append(item["status"] as? String ?? "")
                    state.messages.append(item["message"] as? String ?? "")
                    continue
                }
                let price = (item[ev == "Q" ? "bp" : "p"] as? NSNumber)?.doubleValue ?? 0
                let sequence = (item["q"] as? NSNumber)?.uint64Value ?? 0
                state.events.append(Event(ev: ev, symbol: item["sym"] as? String ?? "", sequence: sequence, price: price))
            }
        }
    }

    /// Polls `condition` every 10 ms until it holds; throws after `timeout`.
    func eventually(_ what: String, timeout: Duration = .seconds(30), _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            guard ContinuousClock.now < deadline else { throw SimTestClientError(message: "timed out: \(what)") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}

struct SimTestClientError: Error {
    let message: String
}

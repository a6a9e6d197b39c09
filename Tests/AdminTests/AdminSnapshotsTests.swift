@testable import Admin
import Aggregator
import Foundation
import SwiftProtobuf
import Logging
import NATS
import NATSTestSupport
import ServiceLifecycle
import Testing
import XYContracts
import XYCore
import XYService

/// `GET /api/v1/market-data/snapshots` against the real nats-server and the real aggregator
/// (the library xy-aggregator runs, in-process) fed by real `xy.md.event.<SYMBOL>` publishes:
/// the entries are the aggregator's state, one per ticker asked, each trouble in its own entry.
/// Serialized: two of its tests each run a JetStream server, xy-admin and an aggregator, and side
/// by side in a parallel `swift test` on two loaded cores their stream set-up missed the 15 s start.
@Suite("xy-admin: market-data snapshots", .serialized)
struct AdminSnapshotsTests {
    static let groups = "alpha=AAA,BBB;beta=CCC,QUIET"

    @Test("each ticker's entry is its group's state in the aggregator; unknown, silent and unanswered tickers per entry")
    func matchesAggregator() async throws {
        let harness = try await AdminHarness.start(["AGG_GROUPS": Self.groups])
        let aggregator = try await InProcessAggregator.start(url: harness.nats.url, groups: Self.groups)
        do {
            let access = try await harness.account("snapper").access
            let feed = try await NATSClient.connect(url: harness.nats.url)
            let base = wallClockNanoseconds() / 1_000_000_000 * 1_000_000_000 - 2_000_000_000
            let trades: [(String, Double, Int64)] = [
                ("AAA", 101.25, base + 123_000_000), ("BBB", 55.5, base + 456_000_000),
                ("CCC", 7.125, base + 789_000_000), ("AAA", 101.5, base + 999_000_000),
            ]
            for (sequence, (symbol, price, time)) in trades.enumerated() {
                var event = Xy_Md_V1_MarketEvent()
                event.symbol = symbol
                event.vendorSequence = UInt64(sequence + 1)
                event.eventTimeNs = time
                event.receiveTimeNs = wallClockNanoseconds()
                event.source = "test"
                var trade = Xy_Md_V1_Trade()
                trade.price = price
                trade.size = 10
                event.trade = trade
                try feed.publish(try Subjects.event(symbol: symbol), bytes: try event.serializedBytes())
            }
            try await feed.flush()
            try await waitUntil("the aggregator to fold every trade") {
                let alpha = try await aggregator.ticks(group: "alpha")
                let beta = try await aggregator.ticks(group: "beta")
                return alpha["AAA"]?.last == 101.5 && alpha["BBB"]?.last == 55.5 && beta["CCC"]?.last == 7.125
            }

            let answer = try await harness.request("GET", "/api/v1/market-data/snapshots?tickers=CCC,AAA,NOPE,QUIET,BBB,AAA", token: access)
            #expect(answer.status == 200, "\(answer.body)")
            let entries = try #require(answer.json["snapshots"] as? [[String: Any]], "\(answer.body)")
            #expect(entries.map { $0["ticker"] as? String } == ["CCC", "AAA", "NOPE", "QUIET", "BBB", "AAA"])
            let state = try await aggregator.ticks(group: "alpha").merging(try await aggregator.ticks(group: "beta")) { $1 }
            for entry in entries {
                let ticker = try #require(entry["ticker"] as? String)
                switch ticker {
                case "NOPE":
                    #expect(entry["found"] as? Bool == false && entry["code"] as? String == "XYA033", "\(entry)")
                case "QUIET":
                    #expect(entry["found"] as? Bool == false && entry["code"] as? String == "XYA034", "\(entry)")
                default:
                    let tick = try #require(state[ticker])
                    #expect(entry["found"] as? Bool == true, "\(entry)")
                    #expect(entry["source"] as? String == "aggregator")
                    #expect(entry["last"] as? Double == tick.last)
                    #expect(entry["change"] as? Double == tick.change)
                    #expect(entry["change_pct"] as? Double == tick.changePercent)
                    #expect(entry["updated_at"] as? String == Self.iso(milliseconds: tick.eventTimeNs / 1_000_000), "\(entry)")
                    #expect(entry["code"] == nil)
                }
            }
            let aaa = try #require(entries.first { $0["ticker"] as? String == "AAA" })
            #expect(aaa["updated_at"] as? String == Self.iso(milliseconds: (base + 999_000_000) / 1_000_000))
            #expect((aaa["updated_at"] as? String)?.hasSuffix(".999Z") == true, "milliseconds, UTC")

            // Many callers at once share requests and each still gets the state.
            let answers = try await Self.atOnce(16, port: harness.port, path: "/api/v1/market-data/snapshots?tickers=AAA,CCC", token: access)
            #expect(answers.count == 16)
            for concurrent in answers {
                let lasts = (concurrent.json["snapshots"] as? [[String: Any]])?.map { $0["last"] as? Double }
                #expect(lasts == [101.5, 7.125], "\(concurrent.body)")
            }

            // The aggregator gone: its tickers are reported per entry, the call still answers.
            await feed.close()
            try await aggregator.stop()
            let orphaned = try await harness.request("GET", "/api/v1/market-data/snapshots?tickers=AAA,NOPE", token: access)
            #expect(orphaned.status == 200)
            let codes = (orphaned.json["snapshots"] as? [[String: Any]])?.map { $0["code"] as? String }
            #expect(codes == ["XYA035", "XYA033"], "\(orphaned.body)")
        } catch {
            try? await aggregator.stop()
            await harness.stop()
            throw error
        }
        await harness.stop()
    }

    @Test("a ticker no group names is found in its dynamic group (the shared mapping, AGG_DYNAMIC_GROUPS); one it lacks is not streamed")
    func dynamicGroupTicker() async throws {
        let harness = try await AdminHarness.start(["AGG_GROUPS": Self.groups, "AGG_DYNAMIC_GROUPS": "4"])
        let aggregator = try await InProcessAggregator.start(url: harness.nats.url, groups: Self.groups, dynamicGroups: 4)
        do {
            let access = try await harness.account("dynamic").access
            let feed = try await NATSClient.connect(url: harness.nats.url)
            var event = Xy_Md_V1_MarketEvent()
            event.symbol = "IBM"
            event.vendorSequence = 1
            event.eventTimeNs = wallClockNanoseconds() / 1_000_000 * 1_000_000
            event.receiveTimeNs = wallClockNanoseconds()
            event.source = "test"
            var trade = Xy_Md_V1_Trade()
            trade.price = 181.25
            trade.size = 10
            event.trade = trade
            try feed.publish(try Subjects.event(symbol: "IBM"), bytes: try event.serializedBytes())
            try await feed.flush()
            try await waitUntil("IBM folded into dyn-01") { try await aggregator.ticks(group: "dyn-01")["IBM"]?.last == 181.25 }

            let answer = try await harness.request("GET", "/api/v1/market-data/snapshots?tickers=IBM,GME", token: access)
            #expect(answer.status == 200, "\(answer.body)")
            let entries = try #require(answer.json["snapshots"] as? [[String: Any]], "\(answer.body)")
            #expect(entries.count == 2)
            #expect(entries.first?["found"] as? Bool == true && entries.first?["last"] as? Double == 181.25, "\(entries)")
            #expect(entries.first?["source"] as? String == "aggregator")
            #expect(entries.last?["found"] as? Bool == false && entries.last?["code"] as? String == "XYA033", "GME's dyn-00 does not hold it: \(entries)")
            await feed.close()
        } catch {
            try? await aggregator.stop()
            await harness.stop()
            throw error
        }
        try await aggregator.stop()
        await harness.stop()
    }

    @Test("the tickers list is checked as a whole: none, empty, too many, malformed, missing; a token is required")
    func validation() async throws {
        let harness = try await AdminHarness.start(["AGG_GROUPS": Self.groups])
        do {
            let access = try await harness.account("checker").access
            let path = "/api/v1/market-data/snapshots"
            let refusals: [(String, Int, String)] = [
                ("?tickers=", 400, "XYA030"),
                ("?tickers=AAA,,BBB", 400, "XYA030"),
                ("?tickers=AAA,", 400, "XYA030"),
                ("?tickers=" + (1...101).map { "T\($0)" }.joined(separator: ","), 400, "XYA031"),
                ("?tickers=aaa", 400, "XYA032"),
                ("?tickers=AAA,BRK.B", 400, "XYA032"),
                ("?tickers=" + String(repeating: "X", count: 17), 400, "XYA032"),
                ("?tickers=A%20B", 400, "XYA032"),
                ("", 400, "XYW007"),
            ]
            for (query, status, code) in refusals {
                let answer = try await harness.request("GET", path + query, token: access)
                #expect(answer.status == status, "\(query.prefix(40)): \(answer.body)")
                #expect(answer.code == code, "\(query.prefix(40)): \(answer.body)")
                #expect((answer.json["message"] as? String)?.isEmpty == false)
            }
            let hundred = (1...100).map { "T\($0)" }.joined(separator: ",")
            let most = try await harness.request("GET", path + "?tickers=" + hundred, token: access)
            #expect(most.status == 200)
            #expect((most.json["snapshots"] as? [Any])?.count == 100)

            let anonymous = try await harness.request("GET", path + "?tickers=AAA")
            #expect(anonymous.status == 401 && anonymous.code == "XYW001")
            let forged = try await harness.request("GET", path + "?tickers=AAA", token: "not.a.jwt")
            #expect(forged.status == 401 && forged.code == "XYW005")
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }

    @Test("tickers no group streams go to the fallback once per call, in one batch; what it finds replaces not-streamed")
    func fallback() async throws {
        let server = try await NATSServer.start(.init(jetStream: false))
        let client = try await NATSClient.connect(url: server.url)
        let asked = LockedValue<[[String]]>([])
        let quote = SnapshotQuote(last: 12.5, change: 0.5, changePercent: 4.1666, updatedAtMilliseconds: 1_796_445_000_123, source: .vendor)
        let snapshots = MarketSnapshots(
            nats: client, groups: try AggregatorConfiguration.parseGroups("alpha=AAA"),
            fallback: { tickers in
                asked.withLock { $0.append(tickers) }
                return ["VEND": quote]
            })
        let outcomes = await snapshots.lookup(["VEND", "AAA", "NOPE", "VEND"])
        // No aggregator answers alpha here: AAA is unavailable, never handed to the fallback.
        #expect(outcomes == [.found(quote), .unavailable, .notStreamed, .found(quote)])
        #expect(asked.current == [["VEND", "NOPE"]])
        let entry = AdminAPIHandler.snapshot("VEND", outcomes[0])
        #expect(entry.source == .vendor && entry.found && entry.updatedAt != nil)
        await client.close()
        await server.stop()
    }

    @Test("callers arriving while a request is in flight are answered by the next one, sent after they arrived")
    func coalescing() {
        var requests = CoalescedRequests<Int>()
        #expect(requests.arrive(1) == .send)
        #expect(requests.arrive(2) == .wait)
        #expect(requests.arrive(3) == .wait)
        let next = requests.answered()
        #expect(next?.leader == 2 && next?.followers == [3])
        #expect(requests.arrive(4) == .wait, "the next request is in flight")
        let last = requests.answered()
        #expect(last?.leader == 4 && last?.followers == [])
        #expect(requests.answered() == nil)
        #expect(requests.arrive(5) == .send, "idle again")
    }

    @Test("date-times are UTC ISO 8601 with exactly three fractional digits")
    func milliseconds() throws {
        // Through the transcoder's DateTranscoder face only, whatever writes the digits.
        let transcoder = MillisecondDateTranscoder()
        for milliseconds: Int64 in [0, 1, 999, 1_733_372_400_123, 951_782_400_000, 1_796_445_000_010, 4_102_444_799_999] {
            let date = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
            #expect(try transcoder.encode(date) == Self.iso(milliseconds: milliseconds), "\(milliseconds)")
        }
        #expect(abs(try transcoder.decode("2026-12-05T04:30:00.123Z").timeIntervalSince1970 - 1_796_445_000.123) < 0.000_01)
        #expect(try transcoder.decode("2026-12-05T04:30:00Z") == Date(timeIntervalSince1970: 1_796_445_000))
        #expect(throws: (any Error).self) { try transcoder.decode("yesterday") }
        // Out of 64-bit nanoseconds' range (year 3000, year 1000): an error, not a trap.
        #expect(throws: (any Error).self) { try transcoder.encode(Date(timeIntervalSince1970: 32_503_680_000)) }
        #expect(throws: (any Error).self) { try transcoder.encode(Date(timeIntervalSince1970: -30_610_224_000)) }
    }

    /// `count` identical GETs at once, each on its own thread (Dispatch's pool on Linux grows by
    /// about a thread a second when its threads block, which would serialise them).
    static func atOnce(_ count: Int, port: Int, path: String, token: String) async throws -> [HTTPAnswer] {
        try await withThrowingTaskGroup(of: HTTPAnswer.self) { group in
            for _ in 0..<count {
                group.addTask {
                    try await withCheckedThrowingContinuation { continuation in
                        Thread {
                            continuation.resume(with: Result {
                                try HTTPAnswer.exchange(port: port, method: "GET", path: path, body: nil, token: token, headers: [])
                            })
                        }.start()
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
    }

    /// The expected text, from Foundation's formatter (the oracle the hand-written one is checked against).
    static func iso(milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }
}

/// The aggregator library in-process, run by a `ServiceGroup` as xy-aggregator's `main` does.
final class InProcessAggregator: @unchecked Sendable {
    let client: NATSClient
    let engine: AggregatorEngine
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    static func start(url: String, groups: String, dynamicGroups: Int = SymbolGroups.defaultDynamicCount) async throws -> InProcessAggregator {
        let client = try await NATSClient.connect(url: url)
        var logger = Logger(label: "xy-aggregator-test")
        logger.logLevel = .notice
        let configuration = AggregatorConfiguration(groups: try AggregatorConfiguration.parseGroups(groups), dynamicGroupCount: dynamicGroups)
        let started = LockedValue<AggregatorEngine?>(nil)
        let service = AggregatorService(
            configuration: configuration, nats: client, readiness: ReadinessState(), logger: logger, retryDelay: .milliseconds(200),
            onStart: { engine, _ in started.withLock { $0 = engine } })
        let group = ServiceGroup(services: [service], logger: logger)
        let task = Task { try await group.run() }
        try await waitUntil("the aggregator to start") { started.current != nil }
        return InProcessAggregator(client: client, engine: try #require(started.current), group: group, task: task)
    }

    private init(client: NATSClient, engine: AggregatorEngine, group: ServiceGroup, task: Task<Void, any Error>) {
        self.client = client
        self.engine = engine
        self.group = group
        self.task = task
    }

    /// The group's state in the engine, by symbol.
    func ticks(group name: String) async throws -> [String: Xy_Md_V1_SymbolTick] {
        let snapshot = try await engine.snapshot(group: name).get()
        return Dictionary((snapshot?.ticks ?? []).map { ($0.symbol, $0) }, uniquingKeysWith: { $1 })
    }

    /// Graceful stop; a second call does nothing.
    func stop() async throws {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
        await client.close()
    }
}

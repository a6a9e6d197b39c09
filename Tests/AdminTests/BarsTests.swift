import Admin
import Aggregator
import Foundation
import Logging
import NATS
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PolygonSim
import SwiftProtobuf
import Testing
import XYContracts
import XYCore

/// `GET /api/v1/market-data/bars` end to end: the real nats-server with the aggregator's
/// `XY_BARS` stream, xy-admin in-process, and `xy sim polygon`'s REST server as the vendor.
@Suite("xy-admin: bars from XY_BARS, vendor backfill, checks and paging")
struct BarsTests {
    static let minute: Int64 = 60_000

    @Test("bars the aggregator stored are served oldest first, amendments applied, folded by multiplier, without asking the vendor")
    func servedFromStream() async throws {
        try await BarsStack.run { stack in
            let now = Self.currentMinute() / (5 * Self.minute) * (5 * Self.minute)
            let first = now - 300 * Self.minute
            // Two versions of one minute: the amendment (stored later) wins.
            for index in 0..<300 {
                try await stack.publishLive("LIVE", start: first + Int64(index) * Self.minute, close: 100 + Double(index))
            }
            try await stack.publishLive("LIVE", start: first + 10 * Self.minute, close: 999)

            let answer = try await stack.get("/api/v1/market-data/bars?ticker=LIVE&from=\(first)&to=\(now)&limit=1000")
            #expect(answer.status == 200, "\(answer.body)")
            #expect(answer.header("X-XY-Cache") == "hit")
            #expect(answer.json["source"] as? String == "stream")
            let bars = answer.json["bars"] as? [[String: Any]] ?? []
            #expect(bars.count == 300)
            #expect(bars.map { $0["start_ms"] as? Int64 ?? 0 } == (0..<300).map { first + Int64($0) * Self.minute })
            #expect(bars[10]["close"] as? Double == 999)
            #expect(bars[0]["start"] as? String == ISO8601Milliseconds.string(first), "UTC ISO 8601 with milliseconds")
            #expect(answer.json["next_cursor"] == nil)

            // Five-minute buckets: first open, last close, summed volume.
            let folded = try await stack.get("/api/v1/market-data/bars?ticker=LIVE&from=\(first)&to=\(now)&multiplier=5")
            let buckets = folded.json["bars"] as? [[String: Any]] ?? []
            #expect(buckets.count == 60, "\(folded.body.prefix(300))")
            let firstBucket = buckets.first ?? [:]
            #expect(firstBucket["open"] as? Double == 99.5)
            #expect(firstBucket["close"] as? Double == 104.0)
            #expect(firstBucket["high"] as? Double == 105.0)
            #expect(firstBucket["volume"] as? Double == 50.0, "\(firstBucket)")
            #expect(firstBucket["trades"] as? Int == 15, "\(firstBucket)")
            #expect(stack.vendorRequests() == 0, "the live range never reaches the vendor")

            // What the aggregator stores after a read (an amendment, the next minute's bar) is in the next one.
            try await stack.publishLive("LIVE", start: first + 20 * Self.minute, close: 777)
            try await stack.publishLive("LIVE", start: now, close: 400)
            let later = try await stack.get("/api/v1/market-data/bars?ticker=LIVE&from=\(first)&to=\(now + Self.minute)")
            let newer = later.json["bars"] as? [[String: Any]] ?? []
            #expect(newer.count == 301)
            #expect(newer[20]["close"] as? Double == 777)
            #expect(newer.last?["close"] as? Double == 400)
            #expect(newer[10]["close"] as? Double == 999)
        }
    }

    @Test("a range from before the first live bar is fetched from the vendor once, stored, and the second read is a hit")
    func backfillOnce() async throws {
        try await BarsStack.run { stack in
            let now = Self.currentMinute()
            let liveFrom = now - 30 * Self.minute
            for index in 0..<30 {
                try await stack.publishLive("MIXD", start: liveFrom + Int64(index) * Self.minute, close: 50)
            }
            let from = liveFrom - 120 * Self.minute
            let path = "/api/v1/market-data/bars?ticker=MIXD&from=\(from)&to=\(now)&limit=5000"
            let first = try await stack.get(path)
            #expect(first.status == 200, "\(first.body)")
            #expect(first.header("X-XY-Cache") == "miss")
            #expect(first.json["source"] as? String == "mixed")
            let bars = first.json["bars"] as? [[String: Any]] ?? []
            #expect(bars.count == 150, "120 vendor minutes and 30 live ones")
            #expect(bars.filter { ($0["start_ms"] as? Int64 ?? 0) >= liveFrom }.allSatisfy { $0["close"] as? Double == 50 })
            #expect(stack.vendorRequests() >= 1)
            let calls = stack.vendorRequests()

            // The vendor's history went into XY_BARS beside the live subject, never on it.
            let stored = try await stack.jetStream.streamInfo(AggregatorStreams.bars)
            #expect(stored.state.messages >= 31 + 120)
            // Stop the vendor: the second read must not need it.
            await stack.stopVendor()
            let second = try await stack.get(path)
            #expect(second.status == 200, "\(second.body)")
            #expect(second.header("X-XY-Cache") == "hit")
            #expect(second.json["source"] as? String == "stream")
            // The same bars (compared as JSON values: the API writes keys in no fixed order).
            let canonical = { (answer: Any?) in try JSONSerialization.data(withJSONObject: answer ?? [], options: [.sortedKeys]) }
            #expect(try canonical(second.json["bars"]) == canonical(first.json["bars"]))
            #expect(stack.vendorRequests() == calls)
        }
    }

    @Test("a ticker the stack does not stream: a past day comes wholly from the vendor and its bars are the vendor's")
    func vendorOnlyTicker() async throws {
        try await BarsStack.run { stack in
            let day = (Self.currentMinute() / 86_400_000 - 3) * 86_400_000
            // What a gateway subscribes to (every symbol's live bars): the backfill must not reach it.
            let liveSeen = NIOLockedValueBox(0)
            let subscription = try stack.harness.client.subscribe(Subjects.allBars) { _ in liveSeen.withLockedValue { $0 += 1 } }
            defer { try? subscription.unsubscribe() }
            let path = "/api/v1/market-data/bars?ticker=HIST&from=\(day + 600 * Self.minute)&to=\(day + 660 * Self.minute)"
            let first = try await stack.get(path)
            #expect(first.status == 200, "\(first.body)")
            #expect(first.header("X-XY-Cache") == "miss")
            #expect(first.json["source"] as? String == "vendor")
            let bars = first.json["bars"] as? [[String: Any]] ?? []
            #expect(bars.count == 60)
            let direct = try await VendorREST(baseURL: stack.vendorURL, apiKey: BarsStack.apiKey)
                .aggregates(ticker: "HIST", fromMilliseconds: day + 600 * Self.minute, toMilliseconds: day + 660 * Self.minute)
            #expect(bars.map { $0["close"] as? Double ?? 0 } == direct.map(\.close))
            #expect(bars.map { $0["start_ms"] as? Int64 ?? 0 } == direct.map(\.startMilliseconds))
            let calls = stack.vendorRequests()
            // Another range of the same day: the whole day was stored, no vendor call.
            let later = try await stack.get("/api/v1/market-data/bars?ticker=HIST&from=\(day)&to=\(day + 86_400_000)&limit=5000")
            #expect(later.header("X-XY-Cache") == "hit")
            #expect((later.json["bars"] as? [Any])?.count == 1440)
            #expect(stack.vendorRequests() == calls)
            // Live subscribers saw none of it, and the live subject holds nothing.
            try await stack.harness.client.flush()
            #expect(liveSeen.withLockedValue { $0 } == 0)
            #expect(try await stack.liveSubjectHoldsBars("HIST") == false)
        }
    }

    @Test("concurrent first reads of one missing day make one vendor call")
    func concurrentMisses() async throws {
        try await BarsStack.run { stack in
            let day = (Self.currentMinute() / 86_400_000 - 4) * 86_400_000
            let path = "/api/v1/market-data/bars?ticker=BUSY&from=\(day + 60 * Self.minute)&to=\(day + 120 * Self.minute)"
            let answers = try await withThrowingTaskGroup(of: HTTPAnswer.self) { group in
                for _ in 0..<8 { group.addTask { try await stack.get(path) } }
                var all: [HTTPAnswer] = []
                for try await answer in group { all.append(answer) }
                return all
            }
            #expect(answers.allSatisfy { $0.status == 200 && ($0.json["bars"] as? [Any])?.count == 60 })
            #expect(stack.vendorRequests() == 1)
        }
    }

    @Test("every checked parameter has its own code, and no token is 401")
    func validation() async throws {
        try await BarsStack.run(overrides: ["BARS_MAX_RANGE": "48h"]) { stack in
            let base = "/api/v1/market-data/bars?ticker=AAPL&from=1700000000000&to=1700003600000"
            let cases: [(String, String)] = [
                ("/api/v1/market-data/bars?ticker=aapl&from=1700000000000&to=1700003600000", "XYA008"),
                ("/api/v1/market-data/bars?from=1700000000000&to=1700003600000", "XYA008"),
                (base + "&timespan=hour", "XYA020"),
                (base + "&multiplier=0", "XYA021"),
                (base + "&multiplier=61", "XYA021"),
                (base + "&multiplier=five", "XYA021"),
                ("/api/v1/market-data/bars?ticker=AAPL&from=yesterday&to=1700003600000", "XYA022"),
                ("/api/v1/market-data/bars?ticker=AAPL&from=2023-11-14T22:13:20&to=1700003600000", "XYA022"),
                ("/api/v1/market-data/bars?ticker=AAPL&from=2023-02-30&to=1700003600000", "XYA022"),
                ("/api/v1/market-data/bars?ticker=AAPL&from=1700000000000", "XYA022"),
                (base + "&limit=0", "XYA023"),
                (base + "&limit=5001", "XYA023"),
                (base + "&limit=ten", "XYA023"),
                ("/api/v1/market-data/bars?ticker=AAPL&from=2023-11-10&to=2023-11-14", "XYA024"),
                (base + "&cursor=bm90LWEtY3Vyc29y", "XYA025"),
                ("/api/v1/market-data/bars?ticker=AAPL&from=1700003600000&to=1700003600000", "XYA026"),
                ("/api/v1/market-data/bars?ticker=AAPL&from=2023-11-15T00:00:00Z&to=2023-11-14T23:00:00%2B00:00", "XYA026"),
            ]
            for (path, code) in cases {
                let answer = try await stack.get(path)
                #expect(answer.status == 400, "\(path): \(answer.status) \(answer.body)")
                #expect(answer.code == code, "\(path): \(answer.body)")
            }
            let anonymous = try await stack.harness.request("GET", base)
            #expect(anonymous.status == 401 && anonymous.code == "XYW001")
            // A cursor is bound to its query: one from another range is refused.
            let other = try await stack.get("/api/v1/market-data/bars?ticker=AAPL&from=1700000000000&to=1700036000000&limit=1")
            let cursor = try #require(other.json["next_cursor"] as? String, "\(other.body)")
            let misused = try await stack.get(base + "&limit=1&cursor=\(cursor)")
            #expect(misused.code == "XYA025", "\(misused.body)")
        }
    }

    @Test("a long range is paged with next_cursor until it ends, every bar once")
    func paging() async throws {
        try await BarsStack.run { stack in
            let now = Self.currentMinute()
            let first = now - 250 * Self.minute
            for index in 0..<250 {
                try await stack.publishLive("PAGE", start: first + Int64(index) * Self.minute, close: Double(index + 1))
            }
            var starts: [Int64] = []
            var cursor: String?
            var pages = 0
            repeat {
                let path = "/api/v1/market-data/bars?ticker=PAGE&from=\(first)&to=\(now)&limit=100" + (cursor.map { "&cursor=\($0)" } ?? "")
                let answer = try await stack.get(path)
                #expect(answer.status == 200, "\(answer.body)")
                let bars = answer.json["bars"] as? [[String: Any]] ?? []
                #expect(bars.count <= 100)
                starts += bars.map { $0["start_ms"] as? Int64 ?? 0 }
                cursor = answer.json["next_cursor"] as? String
                pages += 1
            } while cursor != nil && pages < 10
            #expect(pages == 3)
            #expect(starts == (0..<250).map { first + Int64($0) * Self.minute })
        }
    }

    @Test("live bars older than the cached day are read from the stream by start time, page by page")
    func olderLiveRange() async throws {
        try await BarsStack.run { stack in
            // Live bars of two days ago (an aggregator that has run that long): past the cache's day.
            let first = Self.currentMinute() - 2 * 86_400_000
            for index in 0..<150 {
                try await stack.publishLive("OLD", start: first + Int64(index) * Self.minute, close: Double(index))
            }
            try await stack.publishLive("OLD", start: first + 149 * Self.minute, close: 1000)
            var closes: [Double] = []
            var cursor: String?
            var pages = 0
            repeat {
                let path = "/api/v1/market-data/bars?ticker=OLD&from=\(first)&to=\(first + 150 * Self.minute)&limit=50" + (cursor.map { "&cursor=\($0)" } ?? "")
                let answer = try await stack.get(path)
                #expect(answer.status == 200 && answer.header("X-XY-Cache") == "hit", "\(answer.body)")
                closes += (answer.json["bars"] as? [[String: Any]] ?? []).map { $0["close"] as? Double ?? -1 }
                cursor = answer.json["next_cursor"] as? String
                pages += 1
            } while cursor != nil && pages < 10
            #expect(pages == 3)
            #expect(closes == (0..<149).map(Double.init) + [1000])
            #expect(stack.vendorRequests() == 0)
        }
    }

    @Test("vendor down, key refused or silent: 503 XYA028 / 504 XYA029, the key in no answer, and the service goes on")
    func vendorFailures() async throws {
        let day = (Self.currentMinute() / 86_400_000 - 2) * 86_400_000
        let path = "/api/v1/market-data/bars?ticker=GONE&from=\(day)&to=\(day + 3_600_000)"
        try await BarsStack.run { stack in
            await stack.stopVendor()
            let answer = try await stack.get(path)
            #expect(answer.status == 503 && answer.code == "XYA028", "\(answer.body)")
            #expect(!answer.body.contains(BarsStack.apiKey))
            // The live part of the API still answers.
            let me = try await stack.harness.request("GET", "/api/v1/auth/me", token: stack.token)
            #expect(me.status == 200)
        }
        try await BarsStack.run(vendorKey: "not-the-key") { stack in
            let answer = try await stack.get(path)
            #expect(answer.status == 503 && answer.code == "XYA028", "\(answer.body)")
            #expect(!answer.body.contains("not-the-key"))
        }
        try await SilentServer.run { port in
            try await BarsStack.run(overrides: ["UPSTREAM_REST_URL": "http://127.0.0.1:\(port)", "VENDOR_REST_TIMEOUT": "300ms"]) { stack in
                let answer = try await stack.get(path)
                #expect(answer.status == 504 && answer.code == "XYA029", "\(answer.body)")
            }
        }
    }

    @Test("VendorREST.snapshots against xy sim polygon: the tickers it knows, in the order asked; a stopped vendor is XYA028")
    func snapshots() async throws {
        try await BarsStack.run { stack in
            let vendor = try VendorREST(baseURL: stack.vendorURL, apiKey: BarsStack.apiKey)
            let known = SimSymbols.mostActive(count: 3)
            // The simulator answers any US-shaped ticker; one with `_` is a name no vendor knows.
            let answer = try await vendor.snapshots(tickers: [known[2], "NO_SUCH", known[0]])
            #expect(answer.map(\.ticker) == [known[2], known[0]])
            #expect(answer.allSatisfy { $0.last > 0 })
            #expect(answer.allSatisfy { abs($0.changePercent - $0.change * 100 / ($0.last - $0.change)) < 0.01 })
            let refused = try VendorREST(baseURL: stack.vendorURL, apiKey: "wrong-key-1234")
            await #expect(throws: VendorRESTError.self) { try await refused.snapshots(tickers: known) }
            do throws(VendorRESTError) {
                _ = try await refused.snapshots(tickers: known)
            } catch {
                #expect(error.code.rawValue == "XYA028" && error.httpStatus == 503)
                #expect(!error.message.contains("wrong-key-1234"))
            }
            await stack.stopVendor()
            do throws(VendorRESTError) {
                _ = try await vendor.snapshots(tickers: known)
                Issue.record("a stopped vendor answered")
            } catch {
                #expect(error.kind == .unreachable)
            }
        }
    }

    @Test("the vendor variables: a URL needs the key and must be http(s); the key is a secret; neither turns backfill off")
    func vendorConfiguration() throws {
        func settings(_ environment: [String: String]) throws(ConfigurationError) -> AdminConfiguration {
            try AdminConfiguration(environment: EnvironmentReader(environment))
        }
        #expect(throws: ConfigurationError.self) { try settings(["UPSTREAM_REST_URL": "http://127.0.0.1:9100"]) }
        #expect(throws: ConfigurationError.self) { try settings(["UPSTREAM_REST_URL": "ws://127.0.0.1:9100/stocks", "UPSTREAM_API_KEY": "k3y-value"]) }
        #expect(throws: ConfigurationError.self) { try settings(["BARS_MAX_RANGE": "30s"]) }
        let configured = try settings(["UPSTREAM_REST_URL": "https://api.example.com", "UPSTREAM_API_KEY": "k3y-value", "VENDOR_REST_TIMEOUT": "2s"])
        #expect(configured.secrets == ["k3y-value"])
        #expect(configured.vendorRESTTimeout == .seconds(2))
        let plain = try settings([:])
        #expect(plain.vendorRESTURL == nil && plain.secrets.isEmpty)
        #expect(plain.barsMaximumRange == .seconds(744 * 3600))
        #expect(AdminConfiguration.variables.first { $0.name == "UPSTREAM_API_KEY" }?.isSecret == true)
    }

    static func currentMinute() -> Int64 {
        Int64(Date().timeIntervalSince1970 * 1000) / minute * minute
    }
}

/// UTC ISO 8601 with milliseconds, as the API writes `start`.
enum ISO8601Milliseconds {
    static func string(_ milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }
}

/// One bars test's world: nats-server with the aggregator's `XY_BARS`, xy-admin pointed at an
/// in-process `xy sim polygon` (its REST server on a free port), a user's token.
final class BarsStack: @unchecked Sendable {
    static let apiKey = "sim-bars-key"
    let harness: AdminHarness
    let jetStream: JetStream
    let token: String
    let vendorURL: String
    private let vendorTask: Task<Void, any Error>
    private let sim: PolygonSimServer

    /// Starts everything, runs `body`, stops everything (also when `body` throws).
    static func run(
        overrides: [String: String] = [:], vendorKey: String = apiKey, _ body: (BarsStack) async throws -> Void
    ) async throws {
        var simConfiguration = PolygonSimConfiguration()
        simConfiguration.port = 0
        simConfiguration.apiKey = apiKey
        simConfiguration.rate = 50
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let sim = PolygonSimServer(configuration: simConfiguration, logger: Logger(label: "xy.sim.test")) { port in portSink.yield(port) }
        let vendorTask = Task { try await sim.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else {
            vendorTask.cancel()
            throw HarnessError(message: "the simulator did not listen")
        }
        let vendorURL = "http://127.0.0.1:\(port)"
        var environment = ["UPSTREAM_REST_URL": vendorURL, "UPSTREAM_API_KEY": vendorKey]
        for (name, value) in overrides { environment[name] = value }
        let harness: AdminHarness
        do {
            harness = try await AdminHarness.start(environment)
        } catch {
            vendorTask.cancel()
            throw error
        }
        let stack: BarsStack
        do {
            let jetStream = harness.client.jetStream()
            _ = try await jetStream.createOrUpdateStream(AggregatorStreams.barsConfiguration(AggregatorConfiguration()))
            let (access, _) = try await harness.account("charts")
            stack = BarsStack(harness: harness, jetStream: jetStream, token: access, vendorURL: vendorURL, vendorTask: vendorTask, sim: sim)
        } catch {
            vendorTask.cancel()
            await harness.stop()
            throw error
        }
        do {
            try await body(stack)
        } catch {
            await stack.stop()
            throw error
        }
        await stack.stop()
    }

    private init(harness: AdminHarness, jetStream: JetStream, token: String, vendorURL: String, vendorTask: Task<Void, any Error>, sim: PolygonSimServer) {
        self.harness = harness
        self.jetStream = jetStream
        self.token = token
        self.vendorURL = vendorURL
        self.vendorTask = vendorTask
        self.sim = sim
    }

    func get(_ path: String) async throws -> HTTPAnswer {
        try await harness.request("GET", path, token: token)
    }

    /// REST requests the simulator answered.
    func vendorRequests() -> Int { sim.restRequests }

    /// Stops the vendor and waits until its port no longer accepts.
    func stopVendor() async {
        vendorTask.cancel()
        _ = try? await vendorTask.value
    }

    /// A bar as the aggregator stores it: `xy.md.bar.<TICKER>`, its schema header, a de-duplication id.
    func publishLive(_ ticker: String, start: Int64, close: Double) async throws {
        var bar = Xy_Md_V1_Bar()
        bar.symbol = ticker
        bar.interval = .oneMinute
        bar.startTimeNs = start * 1_000_000
        bar.endTimeNs = (start + 60_000) * 1_000_000
        bar.open = close - 0.5
        bar.high = close + 1
        bar.low = close - 1
        bar.close = close
        bar.volume = 10
        bar.vwap = close
        bar.tradeCount = 3
        bar.sealed = true
        let payload = ByteBuffer(bytes: try bar.serializedBytes() as [UInt8])
        let id = "\(ticker)-\(bar.startTimeNs)-\(close)"
        _ = try await jetStream.publish(
            try Subjects.bar(symbol: ticker), payload: payload, headers: [Subjects.schemaHeader: Xy_Md_V1_Bar.protoMessageName],
            options: .init(messageID: id))
    }

    /// Whether the ticker's live subject holds anything in XY_BARS.
    func liveSubjectHoldsBars(_ ticker: String) async throws -> Bool {
        do {
            _ = try await jetStream.getLastMessage(stream: AggregatorStreams.bars, subject: try Subjects.bar(symbol: ticker))
            return true
        } catch let error as JetStreamError where error.errorCode == .noMessageFound {
            return false
        }
    }

    private func stop() async {
        vendorTask.cancel()
        _ = try? await vendorTask.value
        await harness.stop()
    }
}

/// A TCP listener that accepts and never answers: a vendor that hangs.
enum SilentServer {
    static func run(_ body: (Int) async throws -> Void) async throws {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        do {
            try await body(channel.localAddress?.port ?? 0)
        } catch {
            try? await channel.close()
            throw error
        }
        try? await channel.close()
    }
}

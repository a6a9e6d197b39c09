import Foundation
import HTTPGet
import NIOCore
import NIOPosix
import NIOSSL
import XYCore
import XYService

/// The market-data vendor's REST API (Polygon's paths; `xy sim polygon` serves the same ones
/// locally), for what the stream cannot answer: history from before the stack started
/// (``aggregates(ticker:multiplier:timespan:fromMilliseconds:toMilliseconds:)``) and the latest
/// state of tickers the stack does not stream (``snapshots(tickers:)``).
///
/// The key travels in an `Authorization: Bearer` header, never in the URL, so no URL this type
/// builds, logs or reports carries it; every message it produces also goes through a
/// ``SecretRedactor`` holding the key, in case the vendor echoes it. One GET per connection
/// (`Connection: close`): backfills and fallbacks are rare, and a pool would be state to get wrong.
public struct VendorREST: Sendable {
    /// Scheme, host and port, e.g. `http://127.0.0.1:9100` (any path prefix is kept).
    public let baseURL: String
    /// The whole exchange, connect to last byte, must finish within this (504 XYA029 otherwise).
    public let timeout: TimeAmount
    /// The largest body accepted (a day of minute bars is about 200 KB).
    public let maximumBodySize: Int
    private let apiKey: String
    private let redactor: SecretRedactor
    /// Where the base URL points; each call's target is `pathPrefix` and its own path.
    private let base: HTTPGetURL
    private let pathPrefix: String
    private let client: HTTPGetClient

    /// Fails on a URL that is not `http(s)://host[:port][/prefix]`.
    public init(
        baseURL: String, apiKey: String, timeout: Duration = .seconds(10), maximumBodySize: Int = 8 << 20,
        tlsConfiguration: TLSConfiguration = .makeClientConfiguration(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) throws(VendorRESTError) {
        guard let base = HTTPGetURL(baseURL), !base.target.contains("?")
        else { throw VendorRESTError(.badAnswer, "the vendor REST URL is not http(s)://host[:port][/path]: \(baseURL)") }
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.redactor = SecretRedactor(secrets: [apiKey])
        self.base = base
        self.pathPrefix = base.target.hasSuffix("/") ? String(base.target.dropLast()) : base.target
        self.timeout = TimeAmount(timeout)
        self.maximumBodySize = maximumBodySize
        self.client = HTTPGetClient(
            timeout: self.timeout, maximumBodySize: maximumBodySize, tlsConfiguration: tlsConfiguration, group: group)
    }

    /// One bar as the vendor's aggregates endpoint gives it (prices in dollars, `t` the start in ms).
    public struct Bar: Sendable, Hashable, Decodable {
        public var startMilliseconds: Int64
        public var open: Double
        public var high: Double
        public var low: Double
        public var close: Double
        public var volume: Double
        public var vwap: Double?
        public var trades: Int64?

        enum CodingKeys: String, CodingKey {
            case startMilliseconds = "t"
            case open = "o", high = "h", low = "l", close = "c", volume = "v", vwap = "vw", trades = "n"
        }
    }

    /// `GET /v2/aggs/ticker/{ticker}/range/{multiplier}/{timespan}/{from}/{to}` (adjusted, oldest
    /// first): the bars starting in [`fromMilliseconds`, `toMilliseconds`). One call; a range must
    /// hold at most 50,000 bars (a day of minutes holds 1,440), the vendor's page size.
    public func aggregates(
        ticker: String, multiplier: Int = 1, timespan: String = "minute", fromMilliseconds: Int64, toMilliseconds: Int64
    ) async throws(VendorRESTError) -> [Bar] {
        guard Ticker.isValid(ticker), multiplier > 0, ["second", "minute", "hour", "day", "week"].contains(timespan),
              fromMilliseconds < toMilliseconds
        else { throw VendorRESTError(.badAnswer, "not an aggregates request: \(ticker) \(multiplier) \(timespan) \(fromMilliseconds)..<\(toMilliseconds)") }
        // The vendor's `to` is inclusive.
        let path = "/v2/aggs/ticker/\(ticker)/range/\(multiplier)/\(timespan)/\(fromMilliseconds)/\(toMilliseconds - 1)?adjusted=true&sort=asc&limit=50000"
        let body = try await get(path)
        let answer: AggregatesAnswer
        do {
            answer = try JSONDecoder().decode(AggregatesAnswer.self, from: body)
        } catch {
            throw VendorRESTError(.badAnswer, "the vendor's aggregates for \(ticker) are not the documented JSON: \(error)")
        }
        let bars = (answer.results ?? []).filter { $0.startMilliseconds >= fromMilliseconds && $0.startMilliseconds < toMilliseconds }
        return bars.sorted { $0.startMilliseconds < $1.startMilliseconds }
    }

    /// One ticker's state as the vendor's snapshot endpoint gives it.
    public struct Snapshot: Sendable, Hashable {
        public var ticker: String
        /// The last trade's price, else today's close so far, else the previous day's close.
        public var last: Double
        /// `todaysChange` and `todaysChangePerc`: against the previous day's close.
        public var change: Double
        public var changePercent: Double
        /// When the vendor last updated the ticker, milliseconds since the epoch (0 when it did not say).
        public var updatedMilliseconds: Int64
    }

    /// `GET /v2/snapshot/locale/us/markets/stocks/tickers?tickers=A,B,…`: the latest state of each
    /// ticker the vendor knows, in the order asked; a ticker it does not know is simply absent
    /// (the caller reports it per ticker). xy-admin's snapshots fall back to this for tickers the
    /// aggregator does not hold. At most 250 tickers per call.
    public func snapshots(tickers: [String]) async throws(VendorRESTError) -> [Snapshot] {
        guard !tickers.isEmpty else { return [] }
        guard tickers.count <= 250, tickers.allSatisfy(Ticker.isValid) else {
            throw VendorRESTError(.badAnswer, "snapshots take 1 to 250 tickers of A-Z, 0-9, '-' and '_'")
        }
        let body = try await get("/v2/snapshot/locale/us/markets/stocks/tickers?tickers=\(tickers.joined(separator: ","))")
        let answer: SnapshotAnswer
        do {
            answer = try JSONDecoder().decode(SnapshotAnswer.self, from: body)
        } catch {
            throw VendorRESTError(.badAnswer, "the vendor's snapshot is not the documented JSON: \(error)")
        }
        var byTicker: [String: Snapshot] = [:]
        for entry in answer.tickers ?? [] {
            guard let last = entry.lastTrade?.p ?? entry.day?.c ?? entry.prevDay?.c else { continue }
            let updated = entry.updated ?? entry.lastTrade?.t ?? 0
            byTicker[entry.ticker] = Snapshot(
                ticker: entry.ticker, last: last, change: entry.todaysChange ?? 0, changePercent: entry.todaysChangePerc ?? 0,
                updatedMilliseconds: updated / 1_000_000)
        }
        return tickers.compactMap { byTicker[$0] }
    }

    // MARK: the exchange

    /// GETs `path` (with its query) under the base URL: the body of a 2xx answer, or the error
    /// its status, the connection or the deadline makes.
    private func get(_ path: String) async throws(VendorRESTError) -> Data {
        var url = base
        url.target = pathPrefix + path
        let described = "GET \(url.origin)\(url.target.split(separator: "?").first.map(String.init) ?? url.target)"
        let response: HTTPGetClient.Response
        do {
            response = try await client.get(
                url, headers: [("Authorization", "Bearer \(apiKey)"), ("Accept", "application/json"), ("User-Agent", "xy-admin")])
        } catch {
            let failure = switch error {
            case .connect(let cause): VendorRESTError(.unreachable, "\(described): cannot connect: \(cause)")
            case .timeout: VendorRESTError(.timeout, "\(described): no complete answer within \(timeout.nanoseconds / 1_000_000) ms")
            case .tooLarge: VendorRESTError(.badAnswer, "\(described): the body is over \(maximumBodySize) bytes")
            case .closed: VendorRESTError(.badAnswer, "\(described): the connection closed before the answer was complete")
            }
            throw failure.redacted(by: redactor)
        }
        let status = response.status
        switch status {
        case 200..<300:
            return response.body
        case 401, 403:
            throw VendorRESTError(.refused, "\(described): the vendor refused the key (HTTP \(status))").redacted(by: redactor)
        case 429:
            throw VendorRESTError(.refused, "\(described): the vendor's rate limit for the key is reached (HTTP 429)").redacted(by: redactor)
        default:
            let excerpt = String(decoding: response.body.prefix(200), as: UTF8.self)
            throw VendorRESTError(.badAnswer, "\(described): HTTP \(status) \(excerpt)").redacted(by: redactor)
        }
    }

    private struct AggregatesAnswer: Decodable {
        var results: [Bar]?
    }

    private struct SnapshotAnswer: Decodable {
        struct Entry: Decodable {
            struct Trade: Decodable {
                var p: Double?
                var t: Int64?
            }

            struct Day: Decodable {
                var c: Double?
            }

            var ticker: String
            var day: Day?
            var prevDay: Day?
            var lastTrade: Trade?
            var todaysChange: Double?
            var todaysChangePerc: Double?
            var updated: Int64?
        }

        var tickers: [Entry]?
    }
}

/// A vendor call that failed, with the code and HTTP status xy-admin answers it with.
public struct VendorRESTError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, which decides the code and status.
    public enum Kind: Sendable, Hashable {
        /// No connection (refused, DNS, TLS): 503 XYA028.
        case unreachable
        /// The vendor refused the key (401/403) or asked to slow down (429): 503 XYA028.
        case refused
        /// No complete answer within the timeout: 504 XYA029.
        case timeout
        /// An error status, or a body that is not the documented JSON: 502 XYA027.
        case badAnswer
    }

    public var kind: Kind
    /// Never holds the key (redacted).
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(code) \(message)" }

    /// The stable code of this failure (docs/errors.md).
    public var code: XYErrorCode {
        switch kind {
        case .unreachable, .refused: .vendorUnavailable
        case .timeout: .vendorTimeout
        case .badAnswer: .vendorFailed
        }
    }

    /// The HTTP status xy-admin answers with: 502, 503 or 504, never 500.
    public var httpStatus: Int {
        switch kind {
        case .unreachable, .refused: 503
        case .timeout: 504
        case .badAnswer: 502
        }
    }

    func redacted(by redactor: SecretRedactor) -> VendorRESTError {
        VendorRESTError(kind, redactor.redact(message))
    }
}

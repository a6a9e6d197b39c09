import AdminAPI
import Foundation
import XYCore

/// `GET /api/v1/market-data/snapshots`: the tickers are checked as a whole (a malformed list is
/// the caller's mistake, 400), then each one is looked up in the aggregator's live state and
/// answered in its own entry, found or not.
extension AdminAPIHandler {
    func getSnapshots(_ input: Operations.GetSnapshots.Input) async throws -> Operations.GetSnapshots.Output {
        _ = try await authenticate()
        let tickers = try SnapshotQuery.tickers(input.query.tickers)
        let outcomes = await snapshots.lookup(tickers)
        let list = Components.Schemas.SnapshotList(snapshots: zip(tickers, outcomes).map { ticker, outcome in Self.snapshot(ticker, outcome) })
        // Under PreEncodedBodyMiddleware the answer is written by MarketDataJSON and the generated
        // code encodes only an empty list, which the middleware replaces (see PreEncodedBody).
        if let box = PreEncodedBody.current, let bytes = MarketDataJSON.encode(list) {
            box.set(bytes)
            return .ok(.init(body: .json(.init(snapshots: []))))
        }
        return .ok(.init(body: .json(list)))
    }

    /// One entry of the answer.
    static func snapshot(_ ticker: String, _ outcome: SnapshotLookup) -> Components.Schemas.Snapshot {
        switch outcome {
        case .found(let quote):
            let source: Components.Schemas.Snapshot.SourcePayload
            switch quote.source {
            case .aggregator: source = .aggregator
            case .vendor: source = .vendor
            }
            return .init(
                ticker: ticker, found: true, last: quote.last, change: quote.change, changePct: quote.changePercent,
                updatedAt: Date(timeIntervalSince1970: Double(quote.updatedAtMilliseconds) / 1000), source: source)
        case .notStreamed:
            return .init(ticker: ticker, found: false, code: .xya033, message: "\(ticker) is not streamed by this stack")
        case .noTradeYet:
            return .init(ticker: ticker, found: false, code: .xya034, message: "\(ticker) is streamed but has had no trade yet")
        case .unavailable:
            return .init(ticker: ticker, found: false, code: .xya035, message: "the aggregator streaming \(ticker) did not answer; try again")
        }
    }
}

/// The rules of the `tickers` parameter.
enum SnapshotQuery {
    /// Most tickers one call may ask for.
    static let maximumTickers = 100

    /// `A,B,C` → the tickers in order; XYA030 for none or an empty one, XYA031 over
    /// ``maximumTickers``, XYA032 for one that breaks the ticker rules.
    static func tickers(_ text: String) throws(APIFailure) -> [String] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count <= maximumTickers else {
            throw APIFailure(.badRequest, .tooManyTickers, "at most \(maximumTickers) tickers, got \(parts.count)")
        }
        var tickers: [String] = []
        tickers.reserveCapacity(parts.count)
        for (position, part) in parts.enumerated() {
            guard !part.isEmpty else {
                throw APIFailure(.badRequest, .noTickers, parts.count == 1 ? "tickers is empty" : "ticker \(position + 1) of tickers is empty")
            }
            let ticker = String(part)
            guard Ticker.isValid(ticker) else {
                let shown = ticker.count > 20 ? String(ticker.prefix(20)) + "…" : ticker
                throw APIFailure(
                    .badRequest, .snapshotTickerInvalid,
                    "ticker \(position + 1) ('\(shown)') is not 1 to 16 characters of A-Z, 0-9, '-' and '_'")
            }
            tickers.append(ticker)
        }
        return tickers
    }
}

/// The snapshots operation's codes (docs/errors.md).
extension XYErrorCode {
    /// `tickers` is empty or holds an empty entry.
    public static let noTickers = XYErrorCode(rawValue: "XYA030")
    /// More than 100 tickers in one call.
    public static let tooManyTickers = XYErrorCode(rawValue: "XYA031")
    /// A ticker of the list breaks the ticker rules.
    public static let snapshotTickerInvalid = XYErrorCode(rawValue: "XYA032")
    /// Per entry: no aggregator group streams the ticker.
    public static let tickerNotStreamed = XYErrorCode(rawValue: "XYA033")
    /// Per entry: streamed, but no trade yet.
    public static let tickerNoTradeYet = XYErrorCode(rawValue: "XYA034")
    /// Per entry: the aggregator of the ticker's group did not answer.
    public static let snapshotUnavailable = XYErrorCode(rawValue: "XYA035")
}

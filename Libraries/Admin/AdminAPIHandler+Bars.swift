import AdminAPI
import Foundation
import NATS

/// `GET /api/v1/market-data/bars` (issue 17, "Market data"): the checks of ``BarsQuery``, the
/// page from ``MarketDataBars``, and the `X-XY-Cache` header saying whether the vendor was asked.
extension AdminAPIHandler {
    func getBars(_ input: Operations.GetBars.Input) async throws -> Operations.GetBars.Output {
        _ = try await authenticate()
        let raw = input.query
        let query = try BarsQuery.parse(
            ticker: raw.ticker, timespan: raw.timespan, multiplier: raw.multiplier.map(String.init), from: raw.from, to: raw.to,
            limit: raw.limit.map(String.init), cursor: raw.cursor, maximumRangeMilliseconds: Self.milliseconds(configuration.barsMaximumRange))
        let page: MarketDataBars.Page
        do {
            page = try await bars.page(query)
        } catch let error as VendorRESTError {
            bars.logger.warning("bars backfill failed", metadata: ["code": "\(error.code)", "ticker": "\(query.ticker)", "reason": "\(error.message)"])
            throw APIFailure(.init(code: error.httpStatus), error.code, "the vendor's REST API could not backfill \(query.ticker): \(error.message)")
        } catch let error as JetStreamError where error.errorCode == .streamNotFound {
            throw APIFailure.unavailable("\(BarsArchive.stream) does not exist yet (xy-aggregator creates it)")
        } catch {
            throw APIFailure.unavailable("\(BarsArchive.stream) cannot be read right now (\(type(of: error)))")
        }
        let source: Components.Schemas.BarsPage.SourcePayload = !page.backfilled ? .stream : page.hasLiveBars ? .mixed : .vendor
        let body = Components.Schemas.BarsPage(
            ticker: query.ticker, timespan: "minute", multiplier: query.multiplier,
            bars: page.bars.map(Self.bar), source: source, nextCursor: page.nextCursor)
        let headers = Operations.GetBars.Output.Ok.Headers(xXYCache: page.backfilled ? .miss : .hit)
        // Under PreEncodedBodyMiddleware the page is written by MarketDataJSON and the generated
        // code encodes the page without its bars, which the middleware replaces (see PreEncodedBody).
        if let box = PreEncodedBody.current, let bytes = MarketDataJSON.encode(body) {
            box.set(bytes)
            var placeholder = body
            placeholder.bars = []
            return .ok(.init(headers: headers, body: .json(placeholder)))
        }
        return .ok(.init(headers: headers, body: .json(body)))
    }

    static func bar(_ bar: MinuteBar) -> Components.Schemas.Bar {
        .init(
            start: Date(timeIntervalSince1970: Double(bar.startMilliseconds) / 1000), startMs: bar.startMilliseconds,
            open: bar.open, high: bar.high, low: bar.low, close: bar.close, volume: bar.volume, vwap: bar.vwap, trades: bar.trades)
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }
}

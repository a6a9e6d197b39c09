import Hummingbird
import NIOCore
import XYCore

/// The vendor's REST paths a client needs for history and first paint, answered from the same
/// simulated market for every tradable ticker (whether or not it streams): aggregates over a range
/// (bars around the ticker's reference price, fixed by seed, ticker and time) and the snapshot of
/// chosen tickers (the live walk's state, or the one it starts from).
struct SimREST: Sendable {
    let configuration: PolygonSimConfiguration
    let feed: SimFeed

    /// `GET /v2/aggs/ticker/{ticker}/range/{multiplier}/{timespan}/{from}/{to}`.
    func aggregates(request: Request, parameters: Parameters) -> Response {
        if let denied = checkKey(request) { return denied }
        guard let ticker = parameters.get("ticker")?.uppercased(),
              let multiplier = parameters.get("multiplier").flatMap({ Int64($0) }), multiplier > 0,
              let unit = parameters.get("timespan").flatMap(Self.timespanMilliseconds),
              let from = parameters.get("from").flatMap({ Self.parseTime($0, endOfDay: false) }),
              let to = parameters.get("to").flatMap({ Self.parseTime($0, endOfDay: true) }),
              from <= to
        else {
            return error(400, "Could not parse the request: check ticker, multiplier, timespan (minute, hour, day, week), from and to (YYYY-MM-DD or Unix ms).")
        }
        let limit = min(50_000, max(1, request.uri.queryParameters.get("limit").flatMap { Int($0) } ?? 5000))
        let descending = request.uri.queryParameters.get("sort") == "desc"
        let step = unit * multiplier
        var bars: [String] = []
        var bucket = from - from % step
        var previousClose = barClose(ticker: ticker, time: bucket - step)
        let typicalVolume = Self.typicalVolume(activity: SimUniverse.instrument(for: ticker).activity, milliseconds: step)
        // A name the market cannot trade has no history, as the vendor answers an unknown ticker.
        while feed.isTradable(ticker), bucket <= to, bars.count < limit {
            let close = barClose(ticker: ticker, time: bucket)
            var random = SimRandom(seed: configuration.seed ^ SimRandom.hash(ticker) ^ UInt64(bitPattern: bucket) ^ 0x5151)
            let wiggle = max(1, close / 10_000)
            let high = max(previousClose, close) + Int64(random.below(20)) * wiggle
            let low = max(1, min(previousClose, close) - Int64(random.below(20)) * wiggle)
            let volume = max(1, typicalVolume * Int64(50 + random.below(101)) / 100)
            let vwap = (previousClose + close + high + low) * 25
            bars.append(
                "{\"v\":\(volume),\"vw\":\(Self.fixed(vwap, 4)),\"o\":\(Self.fixed(previousClose, 2)),\"c\":\(Self.fixed(close, 2)),\"h\":\(Self.fixed(high, 2)),\"l\":\(Self.fixed(low, 2)),\"t\":\(bucket),\"n\":\(1 + volume / 150)}"
            )
            previousClose = close
            bucket += step
        }
        if descending { bars.reverse() }
        let body = "{\"ticker\":\(JSONText.quoted(ticker)),\"queryCount\":\(bars.count),\"resultsCount\":\(bars.count),\"adjusted\":true,\"results\":[\(bars.joined(separator: ","))],\"status\":\"OK\",\"request_id\":\"\(requestID())\",\"count\":\(bars.count)}"
        return json(200, body)
    }

    /// `GET /v2/snapshot/locale/us/markets/stocks/tickers?tickers=A,B` (all tickers without the parameter).
    func snapshot(request: Request) -> Response {
        if let denied = checkKey(request) { return denied }
        let wanted = request.uri.queryParameters.get("tickers").map { text in
            text.split(separator: ",").map { String($0).uppercased() }
        }
        let tickers = feed.snapshotStates(tickers: wanted).map(Self.tickerJSON)
        let body = "{\"status\":\"OK\",\"count\":\(tickers.count),\"tickers\":[\(tickers.joined(separator: ","))],\"request_id\":\"\(requestID())\"}"
        return json(200, body)
    }

    static func tickerJSON(_ state: SimMarket.SymbolState) -> String {
        let minute = state.lastMinute ?? SimMarket.Window(openCents: state.priceCents, highCents: state.priceCents, lowCents: state.priceCents, closeCents: state.priceCents)
        let change = state.priceCents - state.previousCloseCents
        let percent = state.previousCloseCents == 0 ? 0 : Double(change) * 100 / Double(state.previousCloseCents)
        let previous = state.previousCloseCents
        var out = "{\"ticker\":\(JSONText.quoted(state.symbol))"
        out += ",\"day\":{\"o\":\(fixed(state.dayOpenCents, 2)),\"h\":\(fixed(state.dayHighCents, 2)),\"l\":\(fixed(state.dayLowCents, 2)),\"c\":\(fixed(state.priceCents, 2)),\"v\":\(state.dayVolume),\"vw\":\(fixed(state.dayVWAPTenThousandths, 4))}"
        out += ",\"min\":{\"av\":\(state.dayVolume),\"o\":\(fixed(minute.openCents, 2)),\"h\":\(fixed(minute.highCents, 2)),\"l\":\(fixed(minute.lowCents, 2)),\"c\":\(fixed(minute.closeCents, 2)),\"v\":\(minute.volume),\"vw\":\(fixed(minute.vwapTenThousandths, 4)),\"t\":\(minute.startMilliseconds),\"n\":\(minute.trades)}"
        out += ",\"prevDay\":{\"o\":\(fixed(previous, 2)),\"h\":\(fixed(previous + previous / 100, 2)),\"l\":\(fixed(max(1, previous - previous / 100), 2)),\"c\":\(fixed(previous, 2)),\"v\":\(typicalVolume(activity: SimUniverse.instrument(for: state.symbol).activity, milliseconds: 86_400_000)),\"vw\":\(fixed(previous * 100, 4))}"
        out += ",\"lastTrade\":{\"p\":\(fixed(state.lastTradeCents, 2)),\"s\":\(state.lastTradeSize),\"t\":\(state.lastTradeMilliseconds * 1_000_000),\"x\":\(state.lastTradeExchange),\"i\":\"\(state.tradeCount)\"}"
        out += ",\"lastQuote\":{\"P\":\(fixed(state.askCents, 2)),\"S\":\(state.askSize),\"p\":\(fixed(state.bidCents, 2)),\"s\":\(state.bidSize),\"t\":\(state.lastQuoteMilliseconds * 1_000_000)}"
        out += ",\"todaysChange\":\(fixed(change, 2)),\"todaysChangePerc\":\((percent * 10000).rounded() / 10000)"
        out += ",\"updated\":\(state.updatedMilliseconds * 1_000_000)}"
        return out
    }

    /// Shares a bar of `milliseconds` typically trades: 100 per unit of activity a minute of the
    /// 390-minute session (SPY about 39 M a day, a quiet name about 400 k), days counted as sessions.
    static func typicalVolume(activity: Int, milliseconds: Int64) -> Int64 {
        let perMinute = Int64(activity) * 100
        if milliseconds >= 86_400_000 { return perMinute * 390 * (milliseconds / 86_400_000) }
        return max(1, perMinute * milliseconds / 60_000)
    }

    /// A bar's close in cents: within ±5 % of the ticker's reference price (the universe's, the
    /// walk's previous close), fixed by seed, ticker and time.
    private func barClose(ticker: String, time: Int64) -> Int64 {
        let anchor = SimUniverse.instrument(for: ticker).referenceCents
        var random = SimRandom(seed: configuration.seed ^ SimRandom.hash(ticker) ^ UInt64(bitPattern: time))
        let swing = Int64(random.below(1001)) - 500
        return max(1, anchor + anchor * swing / 10_000)
    }

    private func checkKey(_ request: Request) -> Response? {
        let query = request.uri.queryParameters.get("apiKey")
        let bearer = request.headers[.authorization].flatMap { value -> String? in
            value.hasPrefix("Bearer ") ? String(value.dropFirst(7)) : nil
        }
        guard let key = query ?? bearer else {
            return error(401, "API Key was not provided")
        }
        guard key == configuration.apiKey, !configuration.rejectAuth else {
            return error(401, "Unknown API Key")
        }
        return nil
    }

    private func error(_ status: Int, _ message: String) -> Response {
        json(status, "{\"status\":\"ERROR\",\"request_id\":\"\(requestID())\",\"error\":\(JSONText.quoted(message))}")
    }

    private func json(_ status: Int, _ body: String) -> Response {
        Response(status: .init(code: status), headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    private func requestID() -> String {
        String(feed.generatedEvents, radix: 16)
    }

    static func fixed(_ value: Int64, _ decimals: Int) -> String {
        var out: [UInt8] = []
        SimEventEncoder.appendFixed(value, decimals: decimals, &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func timespanMilliseconds(_ name: String) -> Int64? {
        switch name {
        case "second": 1000
        case "minute": 60_000
        case "hour": 3_600_000
        case "day": 86_400_000
        case "week": 7 * 86_400_000
        default: nil
        }
    }

    /// `YYYY-MM-DD` (start or end of that UTC day) or Unix milliseconds.
    static func parseTime(_ text: String, endOfDay: Bool) -> Int64? {
        if let milliseconds = Int64(text) { return milliseconds }
        guard let date = ISO8601.date(text) else { return nil }
        let start = date.daysSinceEpoch * 86_400_000
        return endOfDay ? start + 86_400_000 - 1 : start
    }
}

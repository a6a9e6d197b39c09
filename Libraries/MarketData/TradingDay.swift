import XYCore

/// The US equity trading day an instant belongs to: the US/Eastern calendar date of the instant,
/// less `dayStartSeconds` (04:00, when extended-hours trading opens), so the night before 04:00
/// still belongs to the previous day's session.
///
/// US daylight-saving time (since 2007: the second Sunday of March to the first Sunday of
/// November, at 02:00 local) is computed here rather than read from a tz database, so a pure
/// state machine and a slim image need no zoneinfo. Days are counted from 1970-01-01 (XYCore's
/// ``CivilDate``).
public struct TradingCalendar: Sendable, Hashable {
    /// Seconds after local midnight (US/Eastern) at which a trading day begins.
    public var dayStartSeconds: Int64

    public init(dayStartSeconds: Int64 = 4 * 3600) {
        self.dayStartSeconds = dayStartSeconds
    }

    /// The trading day (days since 1970-01-01, of its US/Eastern date) that `ns`, Unix
    /// nanoseconds, falls in.
    public func tradingDay(atNs ns: Int64) -> Int64 {
        let utc = Self.floorDivide(ns, 1_000_000_000)
        let local = utc + Self.easternOffsetSeconds(utcSeconds: utc)
        return Self.floorDivide(local - dayStartSeconds, 86_400)
    }

    /// The UTC offset of US/Eastern at `utcSeconds`: -4 h in daylight-saving time, else -5 h.
    public static func easternOffsetSeconds(utcSeconds: Int64) -> Int64 {
        // The transitions are in March and November, far from New Year, so the year in standard
        // time is the year at every instant that matters here.
        let year = CivilDate(daysSinceEpoch: floorDivide(utcSeconds - 5 * 3600, 86_400)).year
        // 02:00 EST is 07:00 UTC; 02:00 EDT is 06:00 UTC.
        let start = sunday(onOrAfter: CivilDate.days(year: year, month: 3, day: 8)) * 86_400 + 7 * 3600
        let end = sunday(onOrAfter: CivilDate.days(year: year, month: 11, day: 1)) * 86_400 + 6 * 3600
        return utcSeconds >= start && utcSeconds < end ? -4 * 3600 : -5 * 3600
    }

    /// The first Sunday on or after `day` (1970-01-01 was a Thursday).
    static func sunday(onOrAfter day: Int64) -> Int64 {
        let weekday = floorModulo(day + 4, 7)  // 0 is Sunday
        return day + (7 - weekday) % 7
    }

    static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        let quotient = value / divisor
        return value % divisor < 0 ? quotient - 1 : quotient
    }

    static func floorModulo(_ value: Int64, _ divisor: Int64) -> Int64 {
        let remainder = value % divisor
        return remainder < 0 ? remainder + divisor : remainder
    }
}

/// When a `MarketState` must start a new trading day (``MarketState/startNewDay()``): the owner
/// passes the wall clock on its timer and rolls the day when this says so. A value with no clock.
///
/// It starts from the trading day of the newest event of a restored state, so an aggregator
/// restarted the morning after rolls yesterday's volume over at once instead of adding to it.
public struct DayRoll: Sendable, Hashable {
    public let calendar: TradingCalendar
    /// The trading day the state holds; nil until the first event or clock reading.
    public private(set) var day: Int64?

    /// `newestEventNs` is the newest event time of the state (0 or less: an empty state).
    public init(calendar: TradingCalendar = TradingCalendar(), newestEventNs: Int64) {
        self.calendar = calendar
        self.day = newestEventNs > 0 ? calendar.tradingDay(atNs: newestEventNs) : nil
    }

    /// Whether a new trading day began by `nowNs` (wall-clock Unix nanoseconds): true once per
    /// day boundary crossed, never for a clock that steps back. An empty state only takes the day.
    public mutating func advance(toNs nowNs: Int64) -> Bool {
        let today = calendar.tradingDay(atNs: nowNs)
        guard let current = day else {
            day = today
            return false
        }
        guard today > current else { return false }
        day = today
        return true
    }
}

extension MarketState {
    /// The newest event time of any symbol (0 when none): where a restored state's day is.
    public var newestEventNs: Int64 {
        symbols.reduce(0) { max($0, $1.eventTimeNs) }
    }
}

import Foundation

/// The span a USD budget covers. Calendar periods start at 00:00 UTC (weeks on Monday, months
/// on the 1st); rolling ones are the last 24 hours, 7 days or 30 days; `total` never resets.
enum BudgetPeriod: Sendable, Hashable {
    case day, week, month, total
    case rollingDay, rollingWeek, rollingMonth

    init?(name: String, rolling: Bool) {
        switch (name, rolling) {
        case ("day", false): self = .day
        case ("week", false): self = .week
        case ("month", false): self = .month
        case ("total", _): self = .total
        case ("day", true): self = .rollingDay
        case ("week", true): self = .rollingWeek
        case ("month", true): self = .rollingMonth
        default: return nil
        }
    }

    var isRolling: Bool {
        switch self {
        case .rollingDay, .rollingWeek, .rollingMonth: true
        default: false
        }
    }

    /// Seconds a rolling window spans.
    var rollingSeconds: Double? {
        switch self {
        case .rollingDay: 86_400
        case .rollingWeek: 7 * 86_400
        case .rollingMonth: 30 * 86_400
        default: nil
        }
    }

    private static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        calendar.firstWeekday = 2  // Monday
        return calendar
    }()

    /// Start of the calendar period holding `time` (seconds since 1970); nil for rolling and total.
    func periodStart(containing time: Double) -> Double? {
        let date = Date(timeIntervalSince1970: time)
        let calendar = Self.utc
        switch self {
        case .day:
            return calendar.startOfDay(for: date).timeIntervalSince1970
        case .week:
            return calendar.dateInterval(of: .weekOfYear, for: date)?.start.timeIntervalSince1970
        case .month:
            return calendar.dateInterval(of: .month, for: date)?.start.timeIntervalSince1970
        default:
            return nil
        }
    }

    /// When the calendar period holding `time` ends; nil for rolling and total.
    func periodEnd(containing time: Double) -> Double? {
        let date = Date(timeIntervalSince1970: time)
        let calendar = Self.utc
        switch self {
        case .day:
            return calendar.dateInterval(of: .day, for: date)?.end.timeIntervalSince1970
        case .week:
            return calendar.dateInterval(of: .weekOfYear, for: date)?.end.timeIntervalSince1970
        case .month:
            return calendar.dateInterval(of: .month, for: date)?.end.timeIntervalSince1970
        default:
            return nil
        }
    }
}

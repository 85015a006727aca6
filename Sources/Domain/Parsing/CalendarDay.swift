/// A day as `YYYY-MM-DD`, as `<input type="date">` sends it: a four-digit year and a day that
/// exists (2026-02-31 is refused, not rolled over into March).
public struct CalendarDay: Sendable, Equatable, Comparable {
    public let year: Int
    public let month: Int
    public let day: Int

    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// Nil for anything else: another shape, a signed or overlong number, an impossible date.
    public init?<Text: StringProtocol>(iso text: Text) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4,
            let year = BoundedNumber.parse(parts[0], in: 1...9999),
            let month = BoundedNumber.parse(parts[1], in: 1...12),
            let day = BoundedNumber.parse(parts[2], in: 1...31),
            day <= Self.days(inMonth: month, year: year)
        else { return nil }
        self.init(year: year, month: month, day: day)
    }

    public static func < (a: CalendarDay, b: CalendarDay) -> Bool {
        (a.year, a.month, a.day) < (b.year, b.month, b.day)
    }

    static func days(inMonth month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}

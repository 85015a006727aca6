import Foundation

/// The neutral age screen: a person must be at least `minimumAge` on the day they sign up.
/// The form asks for a date of birth with no hint of the cut-off; the date itself is not stored.
public enum AgeScreen {
    public static let minimumAge = 13

    public typealias Day = CalendarDay

    public enum Outcome: Sendable, Equatable {
        case oldEnough
        case tooYoung
        /// Not a real birth date (in the future, or more than 130 years ago).
        case implausible
    }

    /// The day to screen against: the person's own date (what their browser says it is where they
    /// are; the birth date they typed is in the same calendar) when it is a date that is "today"
    /// somewhere on Earth now (UTC−12 to UTC+14), else the earliest such date, so a missing or
    /// doctored date can only make the screen stricter, never let someone under 13 through.
    public static func today(claimed: String?, now: Date) -> Day {
        let earliest = day(of: now, secondsFromGMT: -12 * 3600)
        let latest = day(of: now, secondsFromGMT: 14 * 3600)
        guard let claimed = claimed.flatMap({ Day(iso: $0) }), earliest <= claimed, claimed <= latest else { return earliest }
        return claimed
    }

    static func day(of date: Date, secondsFromGMT: Int) -> Day {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: secondsFromGMT)!
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return Day(year: parts.year!, month: parts.month!, day: parts.day!)
    }

    public static func screen(birth: Day, today: Day) -> Outcome {
        guard birth <= today, today.year - birth.year <= 130 else { return .implausible }
        var age = today.year - birth.year
        if (today.month, today.day) < (birth.month, birth.day) { age -= 1 }
        return age >= minimumAge ? .oldEnough : .tooYoung
    }
}

/// The neutral age screen: a person must be at least `minimumAge` on the day they sign up.
/// The form asks for a date of birth with no hint of the cut-off; the date itself is not stored.
public enum AgeScreen {
    public static let minimumAge = 13

    public struct Day: Sendable, Equatable, Comparable {
        public let year: Int
        public let month: Int
        public let day: Int

        public init(year: Int, month: Int, day: Int) {
            self.year = year
            self.month = month
            self.day = day
        }

        /// Parses `YYYY-MM-DD` (what `<input type="date">` sends); nil for anything else or an impossible date.
        public init?(iso text: String) {
            let parts = text.split(separator: "-")
            guard parts.count == 3, parts[0].count == 4, let year = Int(parts[0]), let month = Int(parts[1]),
                let day = Int(parts[2]), (1...12).contains(month), day >= 1, day <= Day.days(inMonth: month, year: year)
            else { return nil }
            self.init(year: year, month: month, day: day)
        }

        public static func < (a: Day, b: Day) -> Bool {
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

    public enum Outcome: Sendable, Equatable {
        case oldEnough
        case tooYoung
        /// Not a real birth date (in the future, or more than 130 years ago).
        case implausible
    }

    public static func screen(birth: Day, today: Day) -> Outcome {
        guard birth <= today, today.year - birth.year <= 130 else { return .implausible }
        var age = today.year - birth.year
        if (today.month, today.day) < (birth.month, birth.day) { age -= 1 }
        return age >= minimumAge ? .oldEnough : .tooYoung
    }
}

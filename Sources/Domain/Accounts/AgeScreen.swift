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

    public static func screen(birth: Day, today: Day) -> Outcome {
        guard birth <= today, today.year - birth.year <= 130 else { return .implausible }
        var age = today.year - birth.year
        if (today.month, today.day) < (birth.month, birth.day) { age -= 1 }
        return age >= minimumAge ? .oldEnough : .tooYoung
    }
}

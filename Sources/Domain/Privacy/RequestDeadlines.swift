import Foundation

/// When a privacy rights request must be confirmed and answered. The numbers live in one table
/// (`RequestDeadlines.rules`), so an operator can change them where the law they follow differs.
///
/// Days are calendar days in UTC. Business days are Monday to Friday (public holidays are not
/// known here and count as business days: the deadline comes earlier, never later). A period in
/// months ends on the same day of the month it ends in, or on that month's last day when it has
/// no such day (31 January + 1 month = 28 or 29 February), and under the GDPR's counting (EU
/// Regulation 1182/71, art. 3(4)) a period that would end on a Saturday or Sunday ends on the
/// Monday after.
public enum RequestDeadlines {
    /// Which law's clock a request runs on.
    public enum Jurisdiction: String, Sendable, CaseIterable, Codable {
        /// California (CCPA/CPRA regulations, 11 CCR §7021).
        case ccpa
        /// The EU and the UK (GDPR art. 12(3)).
        case gdpr
    }

    /// A span of time counted from the day a request arrives.
    public enum Span: Sendable, Equatable {
        case calendarDays(Int)
        case businessDays(Int)
        case months(Int)
    }

    public struct Rule: Sendable, Equatable {
        /// Receipt must be confirmed within this (nil: no separate confirmation is required).
        public let confirm: Span?
        /// The answer is due within this.
        public let answer: Span
        /// One extension, counted from receipt, announced (with its reason) before the answer was due.
        public let extended: Span?
        /// A deadline that falls on a weekend moves to the Monday after.
        public let weekendMovesToMonday: Bool

        public init(confirm: Span?, answer: Span, extended: Span?, weekendMovesToMonday: Bool) {
            self.confirm = confirm
            self.answer = answer
            self.extended = extended
            self.weekendMovesToMonday = weekendMovesToMonday
        }
    }

    /// The table. CCPA: confirm within 10 business days, answer within 45 calendar days, one
    /// extension to 90 in all. GDPR: one month, extendable by two further months.
    public static let rules: [Jurisdiction: Rule] = [
        .ccpa: Rule(confirm: .businessDays(10), answer: .calendarDays(45), extended: .calendarDays(90), weekendMovesToMonday: false),
        .gdpr: Rule(confirm: nil, answer: .months(1), extended: .months(3), weekendMovesToMonday: true),
    ]

    /// An appeal of a denied request runs a clock of its own: 45 days, the shortest of the US
    /// state laws that grant appeals (Colorado; Virginia and Connecticut allow 60), with one
    /// extension of 60 more.
    public static let appeal = Rule(confirm: nil, answer: .calendarDays(45), extended: .calendarDays(105), weekendMovesToMonday: false)

    public struct Clock: Sendable, Equatable {
        public let receivedOn: CalendarDay
        public let confirmBy: CalendarDay?
        public let dueBy: CalendarDay
        /// The due day once extended (nil when the rule allows no extension).
        public let extendedDueBy: CalendarDay?
        /// An extension must be announced by this day: the original due day.
        public var extensionNoticeBy: CalendarDay { dueBy }
    }

    public static func clock(receivedOn day: CalendarDay, under rule: Rule) -> Clock {
        func end(_ span: Span) -> CalendarDay {
            let raw: CalendarDay =
                switch span {
                case .calendarDays(let count): day.adding(days: count)
                case .businessDays(let count): day.adding(businessDays: count)
                case .months(let count): day.adding(months: count)
                }
            return rule.weekendMovesToMonday ? raw.movedOffWeekend : raw
        }
        return Clock(receivedOn: day, confirmBy: rule.confirm.map(end), dueBy: end(rule.answer), extendedDueBy: rule.extended.map(end))
    }
}

extension CalendarDay {
    /// Days since 1970-01-01 (negative before it): the proleptic Gregorian calendar.
    public var ordinal: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let shiftedMonth = month > 2 ? month - 3 : month + 9
        let dayOfYear = (153 * shiftedMonth + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    public init(ordinal: Int) {
        let z = ordinal + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        self.init(year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month: month, day: day)
    }

    /// 1 is Monday … 7 is Sunday (ISO 8601).
    public var weekday: Int {
        let fromThursday = ((ordinal % 7) + 7) % 7  // 1970-01-01 was a Thursday
        return (fromThursday + 3) % 7 + 1
    }

    public var isWeekend: Bool { weekday >= 6 }

    public func adding(days: Int) -> CalendarDay { CalendarDay(ordinal: ordinal + days) }

    /// `count` Mondays-to-Fridays later (a request on a Saturday counts from the Monday).
    public func adding(businessDays count: Int) -> CalendarDay {
        var day = self
        var left = count
        while left > 0 {
            day = day.adding(days: 1)
            if !day.isWeekend { left -= 1 }
        }
        return day
    }

    /// The same day `count` months later, or that month's last day when it is shorter.
    public func adding(months count: Int) -> CalendarDay {
        let index = year * 12 + (month - 1) + count
        let newYear = index / 12
        let newMonth = index % 12 + 1
        return CalendarDay(year: newYear, month: newMonth, day: min(day, Self.days(inMonth: newMonth, year: newYear)))
    }

    /// This day, or the Monday after when it is a Saturday or Sunday.
    public var movedOffWeekend: CalendarDay {
        switch weekday {
        case 6: adding(days: 2)
        case 7: adding(days: 1)
        default: self
        }
    }
}

extension CalendarDay {
    /// `YYYY-MM-DD`.
    public var iso: String {
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    /// The calendar day (UTC) a moment falls on.
    public init(utc date: Date) {
        let seconds = date.timeIntervalSince1970
        let days = seconds.isFinite ? Int((seconds / 86_400).rounded(.down).clamped(to: -100_000_000...100_000_000)) : 0
        self.init(ordinal: days)
    }
}

extension Double {
    fileprivate func clamped(to range: ClosedRange<Double>) -> Double { Swift.min(Swift.max(self, range.lowerBound), range.upperBound) }
}

import Foundation
import Testing

@testable import Domain

/// Deadlines across weekends, month ends and leap years (weekdays checked against Python's
/// `datetime`, an independent calendar).
@Suite struct RequestDeadlinesTests {
    func day(_ text: String) -> CalendarDay { CalendarDay(iso: text)! }

    @Test func theCalendarRoundTripsAndKnowsItsWeekdays() {
        for (text, weekday) in [
            ("1970-01-01", 4), ("2026-12-04", 5), ("2026-12-05", 6), ("2027-02-28", 7), ("2028-02-29", 2), ("2000-02-29", 2),
            ("1969-12-31", 3), ("2099-12-31", 4), ("1600-03-01", 3),
        ] {
            #expect(day(text).weekday == weekday, "\(text)")
            #expect(CalendarDay(ordinal: day(text).ordinal) == day(text), "\(text)")
        }
        #expect(day("1970-01-01").ordinal == 0 && day("2000-03-01").ordinal == 11_017)
        // Every day of four centuries, one after another.
        var current = day("1900-01-01")
        var broken = 0
        for _ in 0..<146_097 {
            let next = current.adding(days: 1)
            let valid = next.day <= CalendarDay.days(inMonth: next.month, year: next.year) && next.weekday == current.weekday % 7 + 1
            if next.ordinal != current.ordinal + 1 || !valid || !(current < next) { broken += 1 }
            current = next
        }
        #expect(broken == 0 && current == day("2300-01-01"))
    }

    @Test func californiaConfirmsInTenBusinessDaysAndAnswersIn45CalendarDays() {
        let rule = RequestDeadlines.rules[.ccpa]!
        let cases: [(received: String, confirm: String, due: String, extended: String)] = [
            ("2026-12-04", "2026-12-18", "2027-01-18", "2027-03-04"),  // a Friday
            ("2026-12-05", "2026-12-18", "2027-01-19", "2027-03-05"),  // a Saturday counts from Monday
            ("2026-12-08", "2026-12-22", "2027-01-22", "2027-03-08"),
            ("2024-02-29", "2024-03-14", "2024-04-14", "2024-05-29"),  // leap day; 45 days can end on a Sunday
            ("2026-12-24", "2027-01-07", "2027-02-07", "2027-03-24"),  // across the year's end
        ]
        for item in cases {
            let clock = RequestDeadlines.clock(receivedOn: day(item.received), under: rule)
            #expect(clock.confirmBy == day(item.confirm), "confirm \(item.received)")
            #expect(clock.dueBy == day(item.due), "due \(item.received)")
            #expect(clock.extendedDueBy == day(item.extended), "extended \(item.received)")
            #expect(clock.extensionNoticeBy == clock.dueBy)
        }
    }

    @Test func theGDPRMonthEndsOnTheSameDayOrTheMonthsLastAndNeverOnAWeekend() {
        let rule = RequestDeadlines.rules[.gdpr]!
        let cases: [(received: String, due: String, extended: String)] = [
            ("2026-12-08", "2027-01-08", "2027-03-08"),
            ("2027-01-31", "2027-03-01", "2027-04-30"),  // 28 February 2027 is a Sunday
            ("2028-01-31", "2028-02-29", "2028-05-01"),  // leap year; 30 April 2028 is a Sunday
            ("2026-01-31", "2026-03-02", "2026-04-30"),  // 28 February 2026 is a Saturday
            ("2026-03-31", "2026-04-30", "2026-06-30"),
            ("2026-11-30", "2026-12-30", "2027-03-01"),  // 28 February 2027 (no 30th), a Sunday
            ("2099-12-31", "2100-02-01", "2100-03-31"),  // 2100 is no leap year; 31 January 2100 is a Sunday
        ]
        for item in cases {
            let clock = RequestDeadlines.clock(receivedOn: day(item.received), under: rule)
            #expect(clock.confirmBy == nil)
            #expect(clock.dueBy == day(item.due), "due \(item.received)")
            #expect(clock.extendedDueBy == day(item.extended), "extended \(item.received)")
            #expect(!clock.dueBy.isWeekend)
        }
    }

    @Test func anAppealRunsItsOwnClock() {
        let clock = RequestDeadlines.clock(receivedOn: day("2026-12-08"), under: RequestDeadlines.appeal)
        #expect(clock.dueBy == day("2027-01-22") && clock.extendedDueBy == day("2027-03-23"))
    }
}

@Suite struct RightsRequestStateTests {
    @Test func aRequestMovesOnlyForwardAndEndsOnce() {
        #expect(RightsRequestState.identityUnverified.canMove(to: .pending))
        #expect(RightsRequestState.pending.canMove(to: .denied) && RightsRequestState.pending.canMove(to: .approved))
        #expect(RightsRequestState.approved.canMove(to: .inProcessing) && RightsRequestState.inProcessing.canMove(to: .complete))
        #expect(RightsRequestState.error.canMove(to: .pending))
        for final in RightsRequestState.allCases where final.isFinal {
            #expect(RightsRequestState.allCases.allSatisfy { !final.canMove(to: $0) }, "\(final)")
        }
        #expect(!RightsRequestState.identityUnverified.canMove(to: .approved))
        #expect(!RightsRequestState.pending.canMove(to: .identityUnverified))
    }

    @Test func aMomentFallsOnItsUTCDay() {
        #expect(CalendarDay(utc: Date(timeIntervalSince1970: 0)).iso == "1970-01-01")
        #expect(CalendarDay(utc: Date(timeIntervalSince1970: -1)).iso == "1969-12-31")
        #expect(CalendarDay(utc: Date(timeIntervalSince1970: 1_796_688_000 - 1)).iso == "2026-12-07")
        #expect(CalendarDay(utc: Date(timeIntervalSince1970: 1_796_688_000)).iso == "2026-12-08")
        #expect(CalendarDay(utc: Date(timeIntervalSince1970: .infinity)).iso == "1970-01-01")
    }
}

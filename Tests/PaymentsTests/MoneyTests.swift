import Foundation
import Payments
import Testing

/// Amounts come from configuration and from providers' events: a bad one is refused, never a trap.
@Suite struct MoneyTests {
    @Test func onlyNonNegativeAmountsInAThreeLetterCurrency() {
        #expect(Money(minorUnits: 0, currency: "USD") != nil)
        #expect(Money(minorUnits: 999, currency: "JPY")?.minorUnits == 999)
        #expect(Money(minorUnits: -1, currency: "USD") == nil)
        for currency in ["usd", "US", "USDT", "U$D", "", "ÜSD"] {
            #expect(Money(minorUnits: 1, currency: currency) == nil, "\(currency)")
        }
    }

    @Test func sumsAndDifferencesStayInOneCurrencyAndNeverOverflow() throws {
        let ten = try #require(Money(minorUnits: 10, currency: "EUR"))
        let three = try #require(Money(minorUnits: 3, currency: "EUR"))
        let largest = try #require(Money(minorUnits: .max, currency: "EUR"))
        #expect(ten.adding(three)?.minorUnits == 13)
        #expect(ten.subtracting(three)?.minorUnits == 7)
        #expect(three.subtracting(ten) == nil, "a refund larger than what is left")
        #expect(largest.adding(three) == nil, "overflow is nil, not a trap")
        #expect(ten.adding(try #require(Money(minorUnits: 1, currency: "USD"))) == nil)
    }
}

import Foundation
import Testing

@testable import Domain

@Suite struct BillingRulesTests {
    @Test func moneyIsWrittenInItsCurrencysNotation() {
        #expect(MoneyText.format(500, currency: "USD") == "$5.00")
        #expect(MoneyText.format(123_456_789, currency: "EUR") == "€1,234,567.89")
        #expect(MoneyText.format(500, currency: "JPY") == "¥500")
        #expect(MoneyText.format(1_005, currency: "KWD") == "1.005 KWD")
        #expect(MoneyText.format(7, currency: "CHF") == "0.07 CHF")
        #expect(MoneyText.format(Int64.min, currency: "USD").hasPrefix("-$"))
    }

    @Test func aRefundPaysBackUnusedCreditsAtTheirPriceAndTakesBackNoMore() {
        #expect(RefundMath.amount(forUnused: 70, of: 100, paid: 500, alreadyRefunded: 0) == 350)
        #expect(RefundMath.amount(forUnused: 58, of: 100, paid: 333, alreadyRefunded: 0) == 193)
        #expect(RefundMath.amount(forUnused: 100, of: 100, paid: 500, alreadyRefunded: 400) == 100)
        #expect(RefundMath.amount(forUnused: 0, of: 100, paid: 500, alreadyRefunded: 0) == 0)
        // Past Int64 the share is taken a little coarser, never above what was paid, and without a trap.
        #expect(RefundMath.amount(forUnused: 1_000_000, of: 1_000_000, paid: .max, alreadyRefunded: 0) == Int64.max / 1_000_000 * 1_000_000)
        #expect(RefundMath.credits(forRefunded: 193, of: 100, paid: 333, unused: 58) == 58)
        #expect(RefundMath.credits(forRefunded: 250, of: 100, paid: 500, unused: 100) == 50)
        #expect(RefundMath.credits(forRefunded: 500, of: 100, paid: 500, unused: 20) == 20)
        #expect(RefundMath.credits(forRefunded: .max, of: 1_000_000, paid: 500, unused: 7) == 7)
        #expect(RefundMath.credits(forRefunded: -5, of: 100, paid: 500, unused: 100) == 0)
    }

    @Test func aPacksFileIsReadAndEveryMistakeIsNamed() throws {
        let packs = try PacksFile.parse(#"{"packs":[{"id":"small","name":"Small","credits":50,"amount":300,"currency":"EUR"}]}"#)
        #expect(packs == [CreditPack(id: "small", name: "Small", credits: 50, amountMinor: 300, currency: "EUR")])
        #expect(packs[0].priceText == "€3.00")
        let mistakes = [
            (#"{"packs":[]}"#, "names no packs"),
            (#"{"packs":[{"id":"A","name":"x","credits":1,"amount":1,"currency":"USD"}]}"#, "\"id\""),
            (#"{"packs":[{"id":"a","name":"x","credits":0,"amount":1,"currency":"USD"}]}"#, "\"credits\""),
            (#"{"packs":[{"id":"a","name":"x","credits":1,"amount":-1,"currency":"USD"}]}"#, "\"amount\""),
            (#"{"packs":[{"id":"a","name":"x","credits":1,"amount":1,"currency":"usd"}]}"#, "\"currency\""),
            (
                #"{"packs":[{"id":"a","name":"x","credits":1,"amount":1,"currency":"USD"},{"id":"a","name":"y","credits":1,"amount":1,"currency":"USD"}]}"#,
                "used twice"
            ),
            ("nonsense", "is not a packs file"),
        ]
        for (text, problem) in mistakes {
            #expect(throws: ConfigError.self) { try PacksFile.parse(text) }
            do { _ = try PacksFile.parse(text) } catch { #expect(error.problem.contains(problem), "\(error.problem)") }
        }
        #expect(PacksFile.defaults.count == 3)
    }
}

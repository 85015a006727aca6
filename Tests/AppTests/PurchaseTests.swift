import Domain
import Fluent
import Foundation
import Payments
import Persistence
import SQLKit
import Testing
import Vapor
import VaporTesting

@testable import App

/// Buying credits through the offline checkout (the default provider), which walks Stripe's
/// states and sends Stripe-shaped signed events through the same handler as `/webhooks/stripe`.
@Suite struct PurchaseTests {
    /// Starts a checkout of `pack` and returns the order and the offline checkout page's path.
    static func startCheckout(_ browser: Browser, pack: String = "starter", app: Application) async throws -> (OrderModel, String) {
        try await browser.get("/billing")
        let started = try await browser.post("/billing/checkout", ["pack": pack])
        #expect(started.status == .seeOther)
        let location = try #require(started.headers.first(name: .location))
        let path = try #require(URL(string: location)?.path)
        let order = try #require(try await OrderModel.query(on: app.db).sort(\.$createdAt, .descending).first())
        #expect(path == SiteURL.offlineCheckout.path(order: order.id!))
        return (order, path)
    }

    static func userID(_ email: String, _ app: Application) async throws -> UUID {
        try #require(try await UserStore.find(email: email, on: app.db)?.id)
    }

    @Test func aPackIsBoughtOnceAndItsReceiptIsShownAndMailed() async throws {
        try await withPictor({ $0.signUpGrantCredits = 0 }) { app in
            let buyer = try await Accounts.signedIn(app, email: "buyer@example.com")
            let page = try await buyer.get("/billing")
            #expect(page.status == .ok)
            #expect(page.text.contains("Starter") && page.text.contains("$5.00") && page.text.contains("$50.00"))
            #expect(page.text.contains(#"class="balance""#) && page.text.contains("0 credits"))

            let (order, checkout) = try await Self.startCheckout(buyer, app: app)
            #expect(order.state == .pending && order.amountMinor == 500 && order.currency == "USD" && order.credits == 100)
            #expect(try await buyer.get(checkout).text.contains("Pay $5.00"))
            // Nothing arrives from the return page: only from the event.
            #expect(try await buyer.get(SiteURL.billingOrder.path(order: order.id!)).status == .ok)
            let user = try await Self.userID("buyer@example.com", app)
            #expect(try await LedgerStore.balance(of: user, on: app.db).available == 0)

            let paid = try await buyer.post(checkout, ["action": "pay"])
            #expect(paid.location == SiteURL.billingOrder.path(order: order.id!) + "?done=paid")
            #expect(try await LedgerStore.balance(of: user, on: app.db) == .init(available: 100, held: 0))
            let receipt = try await buyer.get(SiteURL.billingOrder.path(order: order.id!))
            #expect(receipt.text.contains(Receipt.number(of: order.id!)) && receipt.text.contains("Paid"))
            let mail = try #require(try await Accounts.mails(to: "buyer@example.com", app: app).first)
            #expect(mail.subject == "Your Pictor receipt \(Receipt.number(of: order.id!))")
            #expect(mail.text.contains("100 credits") && mail.text.contains("$5.00"))
            #expect(!mail.text.contains("4242"))

            // The same news again, under a new event id or the same one, adds nothing.
            let provider = try #require(app.pictor.payments as? OfflinePaymentProvider)
            let amount = try #require(Money(minorUnits: 500, currency: "USD"))
            let event = try provider.event(from: provider.delivery(of: .pay, order: order.id!, amount: amount, now: Date()), now: Date())
            #expect(try await PaymentEvents.apply(event, provider: provider, app: app) == .applied)
            #expect(try await PaymentEvents.apply(event, provider: provider, app: app) == .repeated)
            #expect(try await LedgerStore.balance(of: user, on: app.db) == .init(available: 100, held: 0))
            #expect(try await buyer.get("/billing").text.contains("100 credits"))
        }
    }

    @Test func payLaterEndsPaidOrFailedAndAnAbandonedCheckoutCostsNothing() async throws {
        try await withPictor({ $0.signUpGrantCredits = 0 }) { app in
            let buyer = try await Accounts.signedIn(app, email: "later@example.com")
            let user = try await Self.userID("later@example.com", app)

            let (first, firstPage) = try await Self.startCheckout(buyer, app: app)
            #expect(try await buyer.post(firstPage, ["action": "pay-later"]).location?.hasSuffix("?done=pending") == true)
            #expect(try await OrderStore.find(first.id!, on: app.db)?.state == .pending)
            #expect(try await buyer.get(firstPage).text.contains("Bank: the payment arrived"))
            #expect(try await LedgerStore.balance(of: user, on: app.db).available == 0)
            try await buyer.post(firstPage, ["action": "bank-approves"])
            #expect(try await OrderStore.find(first.id!, on: app.db)?.state == .paid)
            #expect(try await LedgerStore.balance(of: user, on: app.db).available == 100)

            let (second, secondPage) = try await Self.startCheckout(buyer, pack: "creator", app: app)
            try await buyer.post(secondPage, ["action": "pay-later"])
            try await buyer.post(secondPage, ["action": "bank-declines"])
            #expect(try await OrderStore.find(second.id!, on: app.db)?.state == .failed)

            let (third, thirdPage) = try await Self.startCheckout(buyer, app: app)
            try await buyer.post(thirdPage, ["action": "abandon"])
            #expect(try await OrderStore.find(third.id!, on: app.db)?.state == .failed)
            #expect(try await LedgerStore.balance(of: user, on: app.db).available == 100)

            #expect(try await buyer.post("/billing/checkout", ["pack": "no-such-pack"]).status == .badRequest)
        }
    }

    @Test func aRefundGivesBackTheUnusedCreditsPriceAndNeverGoesBelowZero() async throws {
        try await withPictor({ $0.signUpGrantCredits = 0 }) { app in
            let buyer = try await Accounts.signedIn(app, email: "refund@example.com")
            let user = try await Self.userID("refund@example.com", app)
            let (order, checkout) = try await Self.startCheckout(buyer, app: app)
            try await buyer.post(checkout, ["action": "pay"])
            // 30 of the 100 credits are spent on a generation.
            let generation = UUID()
            #expect(try await LedgerStore.hold(30, for: generation, of: user, now: Date(), on: app.db))
            try await LedgerStore.settle(generation: generation, of: user, captured: 30, now: Date(), on: app.db)

            let receiptPath = SiteURL.billingOrder.path(order: order.id!)
            try await buyer.get(receiptPath)
            let empty = try await buyer.post(SiteURL.billingRefundRequest.path(order: order.id!), ["reason": "  "])
            #expect(empty.status == .badRequest && empty.text.contains(#"id="reason-error""#))
            let asked = try await buyer.post(SiteURL.billingRefundRequest.path(order: order.id!), ["reason": "I bought the wrong pack"])
            #expect(asked.location == receiptPath + "?done=refund-requested")
            #expect(try await buyer.post(SiteURL.billingRefundRequest.path(order: order.id!), ["reason": "again"]).status == .conflict)

            let staff = try await Accounts.signedIn(app, email: "support@example.com")
            try await UserModel.query(on: app.db).filter(\.$email == "support@example.com").set(\.$role, to: .support).update()
            let console = try await staff.get("/admin/billing")
            #expect(console.text.contains("30 of 100 credits used; approving refunds 70 credits and $3.50"))
            let request = try #require(try await RefundRequestModel.query(on: app.db).first())
            #expect(
                try await staff.post(SiteURL.adminRefundDecision.path(refund: request.id!), ["decision": "approve", "note": ""]).status == .badRequest
            )
            // Before staff decide, the buyer spends 50 more: only the 20 still unused can come back.
            let later = UUID()
            #expect(try await LedgerStore.hold(50, for: later, of: user, now: Date(), on: app.db))
            try await LedgerStore.settle(generation: later, of: user, captured: 50, now: Date(), on: app.db)
            let approved = try await staff.post(
                SiteURL.adminRefundDecision.path(refund: request.id!), ["decision": "approve", "note": "Refunded as asked."])
            #expect(approved.status == .ok)

            let after = try #require(try await OrderStore.find(order.id!, on: app.db))
            #expect(after.state == .partiallyRefunded && after.refundedMinor == 100)
            #expect(try await LedgerStore.balance(of: user, on: app.db) == .init(available: 0, held: 0))
            let decided = try #require(try await RefundRequestStore.find(request.id!, on: app.db))
            #expect(decided.state == .approved && decided.creditsTaken == 20 && decided.amountRefundedMinor == 100)
            #expect(decided.decisionNote?.contains("80 of 100 credits were already used or refunded. 20 credits and $1.00 were refunded.") == true)
            #expect(try await buyer.get(receiptPath).text.contains("80 of 100 credits were already used or refunded"))
            #expect(try await Accounts.mails(to: "refund@example.com", app: app).first?.subject == "Your Pictor refund was approved")
            #expect(try await AuditEventModel.query(on: app.db).filter(\.$action == "billing.refund.approved").count() == 1)
            // Decided once.
            #expect(
                try await staff.post(SiteURL.adminRefundDecision.path(refund: request.id!), ["decision": "deny", "note": "x"]).status == .conflict)
        }
    }

    @Test func aDisputeFreezesTheOrdersUnusedCreditsUntilItCloses() async throws {
        try await withPictor({ $0.signUpGrantCredits = 0 }) { app in
            let buyer = try await Accounts.signedIn(app, email: "dispute@example.com")
            let user = try await Self.userID("dispute@example.com", app)
            let (won, wonPage) = try await Self.startCheckout(buyer, app: app)
            try await buyer.post(wonPage, ["action": "pay"])
            let (lost, lostPage) = try await Self.startCheckout(buyer, app: app)
            try await buyer.post(lostPage, ["action": "pay"])
            #expect(try await LedgerStore.balance(of: user, on: app.db).available == 200)

            try await buyer.post(wonPage, ["action": "open-dispute"])
            #expect(try await OrderStore.find(won.id!, on: app.db)?.state == .disputed)
            #expect(try await LedgerStore.balance(of: user, on: app.db).available == 100)
            // A disputed order cannot be refunded as well.
            try await buyer.get(SiteURL.billingOrder.path(order: won.id!))
            #expect(try await buyer.post(SiteURL.billingRefundRequest.path(order: won.id!), ["reason": "x"]).status == .conflict)
            try await buyer.post(wonPage, ["action": "dispute-won"])
            #expect(try await OrderStore.find(won.id!, on: app.db)?.state == .paid)
            #expect(try await LedgerStore.balance(of: user, on: app.db).available == 200)

            // Credits held by a generation when the dispute opens join the frozen ones when it
            // ends, and once the dispute is lost none of them can be spent again.
            let generation = UUID()
            #expect(try await LedgerStore.hold(150, for: generation, of: user, now: Date(), on: app.db))  // 100 of the first order, 50 of this one
            try await buyer.post(lostPage, ["action": "open-dispute"])
            #expect(try await LedgerStore.balance(of: user, on: app.db) == .init(available: 0, held: 150))
            try await LedgerStore.settle(generation: generation, of: user, captured: 0, now: Date(), on: app.db)
            #expect(try await LedgerStore.balance(of: user, on: app.db) == .init(available: 100, held: 0))
            try await buyer.post(lostPage, ["action": "dispute-lost"])
            let charged = try #require(try await OrderStore.find(lost.id!, on: app.db))
            #expect(charged.disputeStatus == "lost" && charged.state == .disputed)
            #expect(try await LedgerStore.balance(of: user, on: app.db).available == 100)
            // A charged-back order cannot be refunded, and news of its dispute opening, late, changes nothing.
            try await buyer.get(SiteURL.billingOrder.path(order: lost.id!))
            #expect(try await buyer.post(SiteURL.billingRefundRequest.path(order: lost.id!), ["reason": "x"]).status == .conflict)
            let provider = try #require(app.pictor.payments as? OfflinePaymentProvider)
            let late = try provider.event(
                from: provider.delivery(of: .openDispute, order: lost.id!, amount: Money(minorUnits: 500, currency: "USD")!, now: Date()), now: Date()
            )
            #expect(try await PaymentEvents.apply(late, provider: provider, app: app) == .applied)
            #expect(try await OrderStore.find(lost.id!, on: app.db)?.disputeStatus == "lost")
            #expect(try await LedgerStore.balance(of: user, on: app.db).available == 100)
            let history = try await buyer.get("/billing").text
            #expect(history.contains("frozen credits are gone") && history.contains("the frozen credits are back"))
        }
    }

    @Test func anotherPersonsOrderIsNotFound() async throws {
        try await withPictor({ $0.signUpGrantCredits = 0 }) { app in
            let owner = try await Accounts.signedIn(app, email: "owner@example.com")
            let (order, checkout) = try await Self.startCheckout(owner, app: app)
            try await owner.post(checkout, ["action": "pay"])
            let stranger = try await Accounts.signedIn(app, email: "stranger@example.com")
            try await stranger.get("/billing")
            #expect(try await stranger.get(SiteURL.billingOrder.path(order: order.id!)).status == .notFound)
            #expect(try await stranger.get(checkout).status == .notFound)
            #expect(try await stranger.post(checkout, ["action": "open-dispute"]).status == .notFound)
            #expect(try await stranger.post(SiteURL.billingRefundRequest.path(order: order.id!), ["reason": "mine now"]).status == .notFound)
            #expect(try await stranger.get("/billing/orders/not-a-uuid").status == .notFound)
            #expect(!(try await stranger.get("/billing").text.contains(Receipt.number(of: order.id!))))
            // Staff pages are staff only.
            #expect(try await stranger.get("/admin/billing").status == .notFound)
            #expect(try await OrderStore.find(order.id!, on: app.db)?.state == .paid)
        }
    }

    @Test func theLedgerIsPagedWithARunningBalanceInPagesAndJSON() async throws {
        try await withPictor({ $0.signUpGrantCredits = 0 }) { app in
            let browser = try await signedInForAPI(app, email: "ledger@example.com")
            let user = try await Self.userID("ledger@example.com", app)
            let start = Date().addingTimeInterval(-1000)
            for index in 0..<60 {
                try await LedgerStore.add(
                    index + 1, to: user, source: .free, kind: .grant, expiresAt: nil, orderID: nil, reason: "gift \(index)",
                    now: start.addingTimeInterval(Double(index)), on: app.db)
            }
            let balance = try await browser.api(.GET, "/api/v1/balance")
            #expect(balance.text.contains(#""available":1830"#))
            struct Page: Decodable {
                struct Entry: Decodable {
                    let change: Int
                    let balanceAfter: Int
                }
                let data: [Entry]
                let nextCursor: String?
            }
            let first = try JSONDecoder().decode(Page.self, from: Data(try await browser.api(.GET, "/api/v1/ledger").text.utf8))
            #expect(first.data.count == 50 && first.data[0].balanceAfter == 1830 && first.data[0].change == 60)
            #expect(first.data[1].balanceAfter == 1830 - 60)
            let next = try #require(first.nextCursor)
            let second = try JSONDecoder().decode(Page.self, from: Data(try await browser.api(.GET, "/api/v1/ledger?cursor=\(next)").text.utf8))
            #expect(second.data.map(\.change) == Array((1...10).reversed()) && second.data.last?.balanceAfter == 1 && second.nextCursor == nil)
            for bad in ["x", "-1.00000000-0000-0000-0000-000000000000", "99999999999999999999.x", "\(Int64.max).\(UUID())"] {
                #expect(try await browser.api(.GET, "/api/v1/ledger?cursor=\(bad)").status == .badRequest)
            }
            let page = try await browser.get("/billing")
            #expect(page.text.contains("Free credits: gift 59") && page.text.contains("Older entries"))
        }
    }

    @Test func checkoutsAtOnceCannotPassTheHourlyLimitAndTheBankCannotDisputeAPaymentNeverMade() async throws {
        try await withPictor({ $0.signUpGrantCredits = 0 }) { app in
            let buyer = try await Accounts.signedIn(app, email: "hasty@example.com")
            let user = try await Self.userID("hasty@example.com", app)
            try await buyer.get("/billing")
            let statuses = try await withThrowingTaskGroup(of: HTTPStatus.self) { group in
                for _ in 0..<20 { group.addTask { try await buyer.post("/billing/checkout", ["pack": "starter"]).status } }
                return try await group.reduce(into: [HTTPStatus]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .seeOther }.count == PurchaseVelocity.perAccountPerHour)
            #expect(statuses.filter { $0 == .tooManyRequests }.count == 20 - PurchaseVelocity.perAccountPerHour)
            #expect(try await OrderModel.query(on: app.db).count() == PurchaseVelocity.perAccountPerHour)
            let refused = try await buyer.post("/billing/checkout", ["pack": "starter"])
            #expect(refused.status == .tooManyRequests && refused.text.contains("started many purchases in the last hour"))

            // Steps the page does not offer for an order as it stands are refused and change nothing.
            let order = try #require(try await OrderModel.query(on: app.db).first())
            let page = SiteURL.offlineCheckout.path(order: order.id!)
            try await buyer.get(page)
            for action in ["dispute-won", "dispute-lost", "open-dispute", "bank-approves"] {
                #expect(try await buyer.post(page, ["action": action]).status == .conflict, "\(action)")
            }
            #expect(try await OrderStore.find(order.id!, on: app.db)?.state == .pending)
            #expect(try await LedgerStore.balance(of: user, on: app.db).available == 0)
            try await buyer.post(page, ["action": "pay"])
            #expect(try await buyer.post(page, ["action": "pay"]).status == .conflict)
            #expect(try await LedgerStore.balance(of: user, on: app.db).available == 100)
        }
    }

    @Test func staffCannotDecideTheirOwnRefundAndAnUnknownRequestIsNotFound() async throws {
        try await withPictor({ $0.signUpGrantCredits = 0 }) { app in
            let staff = try await Accounts.signedIn(app, email: "own@example.com")
            let (order, checkout) = try await Self.startCheckout(staff, app: app)
            try await staff.post(checkout, ["action": "pay"])
            try await staff.get(SiteURL.billingOrder.path(order: order.id!))
            try await staff.post(SiteURL.billingRefundRequest.path(order: order.id!), ["reason": "Mine"])
            try await UserModel.query(on: app.db).filter(\.$email == "own@example.com").set(\.$role, to: .support).update()
            try await staff.get("/admin/billing")
            let request = try #require(try await RefundRequestModel.query(on: app.db).first())
            let own = try await staff.post(SiteURL.adminRefundDecision.path(refund: request.id!), ["decision": "approve", "note": "self"])
            #expect(own.status == .forbidden && own.text.contains("Another member of staff has to decide your own refund request."))
            #expect(try await RefundRequestStore.find(request.id!, on: app.db)?.state == .requested)
            let other = try await Accounts.signedIn(app, email: "colleague@example.com")
            try await UserModel.query(on: app.db).filter(\.$email == "colleague@example.com").set(\.$role, to: .support).update()
            try await other.get("/admin/billing")
            let blank = try await other.post(SiteURL.adminRefundDecision.path(refund: request.id!), ["decision": "deny", "note": "   "])
            #expect(blank.status == .badRequest && blank.text.contains("Write the reason the person will see"))
            #expect(try await other.post(SiteURL.adminRefundDecision.path(refund: UUID()), ["decision": "deny", "note": "x"]).status == .notFound)
            #expect(try await other.post(SiteURL.adminRefundDecision.path(refund: request.id!), ["decision": "deny", "note": "No."]).status == .ok)
        }
    }
}

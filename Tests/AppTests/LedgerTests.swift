import Domain
import Fluent
import Foundation
import Persistence
import Providers
import SQLKit
import Testing
import Vapor

@testable import App

/// The credit ledger in the database, on both engines: holds never spend a credit twice, a
/// settlement happens once, free credits go first and run out on time, and the wallet always
/// equals the sum of its entries and of its lots.
@Suite struct LedgerTests {
    static func person(_ app: Application, _ email: String) async throws -> UUID {
        let user = UserModel.new(email: email, passwordHash: "not used", role: .user, now: Date(), config: app.pictor.config)
        try await UserStore.insert(user, on: app.db)
        return try user.requireID()
    }

    @Test func holdsAtOnceNeverSpendMoreThanTheBalance() async throws {
        try await withPictor { app in
            let user = try await Self.person(app, "many@example.com")
            let now = Date()
            try await LedgerStore.add(
                30, to: user, source: .paid, kind: .purchase, expiresAt: nil, orderID: UUID(), reason: nil, now: now, on: app.db)
            try await LedgerStore.add(
                20, to: user, source: .free, kind: .grant, expiresAt: now.addingTimeInterval(3600), orderID: nil, reason: "Welcome",
                now: now, on: app.db)
            // 200 holds of one credit at once against 50.
            let granted = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<200 {
                    group.addTask {
                        try await writeTransaction(on: app.db) { tx in try await LedgerStore.hold(1, for: UUID(), of: user, now: now, on: tx) }
                    }
                }
                return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
            }
            #expect(granted == 50)
            #expect(try await LedgerStore.balance(of: user, on: app.db) == .init(available: 0, held: 50))
            #expect(try await LedgerStore.mismatchedWallets(on: app.db).isEmpty)
        }
    }

    @Test func aSettlementSpendsInDrawOrderGivesBackTheRestAndHappensOnce() async throws {
        try await withPictor { app in
            let user = try await Self.person(app, "settle@example.com")
            let now = Date()
            let free = try await LedgerStore.add(
                3, to: user, source: .free, kind: .grant, expiresAt: now.addingTimeInterval(86_400), orderID: nil, reason: nil, now: now,
                on: app.db)
            let paid = try await LedgerStore.add(
                10, to: user, source: .paid, kind: .purchase, expiresAt: nil, orderID: UUID(), reason: nil, now: now, on: app.db)
            let generation = UUID()
            #expect(try await LedgerStore.hold(5, for: generation, of: user, now: now, on: app.db))
            #expect(try await LedgerStore.balance(of: user, on: app.db) == .init(available: 8, held: 5))
            // Four delivered: the three free credits and one paid are spent; one paid comes back.
            #expect(try await LedgerStore.settle(generation: generation, of: user, captured: 4, now: now, on: app.db) == 5)
            #expect(try await LedgerStore.balance(of: user, on: app.db) == .init(available: 9, held: 0))
            let lots = try await LedgerStore.lots(of: user, on: app.db)
            #expect(lots.first { $0.id == free } == nil, "the free lot is spent")
            #expect(lots.first { $0.id == paid }?.remaining == 9)
            // Again (a retried job): nothing more happens.
            #expect(try await LedgerStore.settle(generation: generation, of: user, captured: 4, now: now, on: app.db) == 0)
            #expect(try await LedgerStore.balance(of: user, on: app.db) == .init(available: 9, held: 0))
            let kinds = try await LedgerEntryModel.query(on: app.db).filter(\.$userID == user).sort(\.$createdAt).all().map(\.kind)
            #expect(Set(kinds) == [.grant, .purchase, .hold, .capture, .release] && kinds.count == 5)
            #expect(try await LedgerStore.mismatchedWallets(on: app.db).isEmpty)
        }
    }

    /// Free credits run out by the service's clock: moved here, not the rows.
    @Test func freeCreditsRunOutOnTime() async throws {
        try await withPictor { app in
            let clock = MovableClock()
            let user = try await Self.person(app, "expiry@example.com")
            try await LedgerStore.add(
                5, to: user, source: .free, kind: .grant, expiresAt: clock.now().addingTimeInterval(3600), orderID: nil, reason: nil,
                now: clock.now(), on: app.db)
            try await LedgerStore.add(
                2, to: user, source: .paid, kind: .purchase, expiresAt: nil, orderID: UUID(), reason: nil, now: clock.now(), on: app.db)
            clock.advance(by: 3599)
            let early = try await writeTransaction(on: app.db) { tx in
                try await LedgerStore.hold(6, for: UUID(), of: user, now: clock.now(), on: tx)
            }
            #expect(early, "a second before the hour, all seven count")
            clock.advance(by: 2)
            #expect(
                try await writeTransaction(on: app.db) { tx in try await LedgerStore.hold(1, for: UUID(), of: user, now: clock.now(), on: tx) })
            #expect(try await LedgerStore.balance(of: user, on: app.db) == .init(available: 0, held: 7))

            let other = try await Self.person(app, "expiry2@example.com")
            try await LedgerStore.add(
                5, to: other, source: .free, kind: .grant, expiresAt: clock.now().addingTimeInterval(60), orderID: nil, reason: nil,
                now: clock.now(), on: app.db)
            clock.advance(by: 61)
            #expect(try await !LedgerStore.hold(1, for: UUID(), of: other, now: clock.now(), on: app.db))
            #expect(try await LedgerStore.balance(of: other, on: app.db) == .init(available: 0, held: 0))
            let expired = try await LedgerEntryModel.query(on: app.db).filter(\.$userID == other).filter(\.$kind == .expiry).all()
            #expect(expired.map(\.availableDelta) == [-5])
            #expect(try await LedgerStore.mismatchedWallets(on: app.db).isEmpty)
        }
    }

    /// The database itself refuses a balance below zero, whatever the code does.
    @Test func theDatabaseRefusesANegativeBalance() async throws {
        try await withPictor { app in
            let user = try await Self.person(app, "negative@example.com")
            try await LedgerStore.add(
                1, to: user, source: .paid, kind: .purchase, expiresAt: nil, orderID: nil, reason: nil, now: Date(), on: app.db)
            await #expect(throws: (any Error).self) {
                try await sqlDatabase(app.db).raw("UPDATE wallets SET available = available - 2 WHERE id = \(bind: user)").run()
            }
            #expect(try await LedgerStore.balance(of: user, on: app.db) == .init(available: 1, held: 0))
        }
    }
}

/// What the maintenance sweep does for credits.
@Suite struct BillingSweepTests {
    @Test func aHoldWhoseGenerationEndedOrIsGoneIsSettledAndALiveOneIsLeft() async throws {
        try await withPictor { app in
            let user = try await LedgerTests.person(app, "stranded@example.com")
            let now = Date()
            try await LedgerStore.add(
                10, to: user, source: .paid, kind: .purchase, expiresAt: nil, orderID: UUID(), reason: nil, now: now, on: app.db)
            try await insertGenerations(app, user: user, count: 2, prompt: "a hold left behind")
            let rows = try await GenerationModel.query(on: app.db).sort(\.$createdAt).all()
            let ended = try rows[0].requireID()  // succeeded, charged 1
            let live = try rows[1].requireID()
            rows[1].state = .running
            try await rows[1].save(on: app.db)
            let gone = UUID()
            for generation in [ended, live, gone] {
                #expect(try await LedgerStore.hold(2, for: generation, of: user, now: now, on: app.db))
            }
            #expect(try await LedgerStore.balance(of: user, on: app.db) == .init(available: 4, held: 6))

            #expect(try await BillingSweeps.settleStranded(app: app, now: now) == 2)
            // The ended one is charged what its row says (1 of 2); the gone one costs nothing; the
            // running one still holds its 2.
            #expect(try await LedgerStore.balance(of: user, on: app.db) == .init(available: 7, held: 2))
            #expect(try await BillingSweeps.settleStranded(app: app, now: now) == 0)
            #expect(try await BillingSweeps.checkBalances(app: app, logger: app.logger) == 0)

            // A wallet changed behind the ledger's back is found.
            try await (app.db as! any SQLDatabase).raw("UPDATE wallets SET available = available + 1").run()
            #expect(try await BillingSweeps.checkBalances(app: app, logger: app.logger) == 1)
            try await (app.db as! any SQLDatabase).raw("UPDATE wallets SET available = available - 1").run()
        }
    }
}

/// Generations paid from the ledger, through the API with a real job runner.
@Suite struct LedgerCreditsTests {
    @Test func aGenerationIsPaidForWhatItDeliveredAndARefusedOneHoldsNothing() async throws {
        let provider = ScriptedProvider(otherwise: [.deliver(side: 64)])
        try await withPictor({ $0.signUpGrantCredits = 0 }) { app in
            app.pictor = app.pictor.with(models: scriptedCatalog(provider), credits: LedgerCredits())
            let browser = try await signedInForAPI(app, email: "payer@example.com")
            let user = try #require(try await UserStore.find(email: "payer@example.com", on: app.db)?.id)
            try await LedgerStore.add(
                5, to: user, source: .free, kind: .grant, expiresAt: nil, orderID: nil, reason: "Welcome", now: Date(), on: app.db)
            // The scripted model costs 2 a picture: three cost 6, more than the 5 there are.
            let refused = try await browser.generate(#"{"model":"scripted","prompt":"three cats","size":"64x64","count":3}"#)
            #expect(refused.status == .paymentRequired)
            #expect(try refused.decoded(ProblemView.self).detail?.contains("This needs 6 credits and you have 5") == true)
            #expect(try await LedgerStore.balance(of: user, on: app.db) == .init(available: 5, held: 0))
            #expect(try await GenerationModel.query(on: app.db).count() == 0)

            // Submitted before any worker runs, so the hold is seen before the generation can end.
            let created: GenerationView = try await browser.generate(#"{"model":"scripted","prompt":"two cats","size":"64x64","count":2}"#)
                .decoded()
            #expect(try await LedgerStore.balance(of: user, on: app.db) == .init(available: 1, held: 4))
            try await withRunner(app, handlers: workHandlers) { _ in
                let done = try await browser.finished(created.id)
                #expect(done.status == "succeeded" && done.creditsCharged == 4)
            }
            #expect(try await LedgerStore.balance(of: user, on: app.db) == .init(available: 1, held: 0))
            #expect(try await LedgerStore.mismatchedWallets(on: app.db).isEmpty)
        }
    }
}

/// Submissions racing for the last credits, and generations that end without delivering.
@Suite struct LedgerSubmissionTests {
    @Test func twoHundredSubmissionsAtOnceAgainst37CreditsSucceed37Times() async throws {
        try await withPictor({
            $0.signUpGrantCredits = 0
            $0.maxActiveGenerationsPerUser = 10_000
            // One person's 200 holds run one after another on their wallet row; with the default
            // 8 connections the rest wait in the pool, and under the whole suite's load some waited
            // past its timeout in CI. Enough connections that every request waits in PostgreSQL.
            $0.postgresConnectionsPerLoop = 64
        }) { app in
            let browser = try await signedInForAPI(app, email: "racer@example.com")
            let user = try #require(try await UserStore.find(email: "racer@example.com", on: app.db)?.id)
            try await LedgerStore.add(
                37, to: user, source: .paid, kind: .purchase, expiresAt: nil, orderID: UUID(), reason: nil, now: Date(), on: app.db)
            // The built-in engine costs 1 a picture; no workers run, so every accepted one stays held.
            let statuses = try await withThrowingTaskGroup(of: HTTPStatus.self) { group in
                for index in 0..<200 {
                    group.addTask {
                        try await browser.generate(#"{"prompt":"race \#(index)","size":"512x512","count":1}"#).status
                    }
                }
                return try await group.reduce(into: [HTTPStatus]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .accepted || $0 == .created }.count == 37)
            #expect(statuses.filter { $0 == .paymentRequired }.count == 163, "\(statuses.map(\.code).sorted())")
            #expect(try await LedgerStore.balance(of: user, on: app.db) == .init(available: 0, held: 37))
            #expect(try await GenerationModel.query(on: app.db).count() == 37)
            let holds = try await LedgerEntryModel.query(on: app.db).filter(\.$kind == .hold).count()
            #expect(holds == 37)
        }
    }

    @Test func aFailedBlockedOrCancelledGenerationCostsNothing() async throws {
        let provider = ScriptedProvider(calls: [[.fail(.permanent("the model refused"))], [.progress(0.5), .fail(.blocked("violence"))]])
        try await withPictor({ $0.signUpGrantCredits = 0 }) { app in
            app.pictor = app.pictor.with(models: scriptedCatalog(provider))
            let browser = try await signedInForAPI(app, email: "unlucky@example.com")
            let user = try #require(try await UserStore.find(email: "unlucky@example.com", on: app.db)?.id)
            try await LedgerStore.add(
                10, to: user, source: .paid, kind: .purchase, expiresAt: nil, orderID: UUID(), reason: nil, now: Date(), on: app.db)
            // Cancelled while it waits in the queue (no workers yet).
            let waiting: GenerationView = try await browser.generate(#"{"model":"scripted","prompt":"never mind","size":"64x64","count":2}"#)
                .decoded()
            #expect(try await LedgerStore.balance(of: user, on: app.db) == .init(available: 6, held: 4))
            #expect(try await browser.api(.POST, "/api/v1/generations/\(waiting.id)/cancel").status == .ok)
            #expect(try await LedgerStore.balance(of: user, on: app.db) == .init(available: 10, held: 0))
            // Failed by the provider.
            try await withRunner(app, handlers: workHandlers) { _ in
                let failing: GenerationView = try await browser.generate(#"{"model":"scripted","prompt":"a refusal","size":"64x64","count":3}"#)
                    .decoded()
                let done = try await browser.finished(failing.id)
                #expect(done.status == "failed" && done.creditsCharged == 0)
                // Blocked by the provider's safety filter half-way.
                let filtered: GenerationView = try await browser.generate(#"{"model":"scripted","prompt":"a blocked one","size":"64x64","count":2}"#)
                    .decoded()
                let blocked = try await browser.finished(filtered.id)
                #expect(blocked.status == "blocked" && blocked.creditsCharged == 0)
            }
            #expect(try await LedgerStore.balance(of: user, on: app.db) == .init(available: 10, held: 0))
            let spent = try await LedgerEntryModel.query(on: app.db).filter(\.$kind == .capture).count()
            #expect(spent == 0)
        }
    }
}

/// Staff corrections from the console.
@Suite struct StaffAdjustmentTests {
    @Test func staffGiveAndTakeBackCreditsWithAReasonTheyCannotTakeMoreThanThereIs() async throws {
        try await withPictor({ $0.signUpGrantCredits = 5 }) { app in
            let person = try await Accounts.signedIn(app, email: "person@example.com")
            let user = try #require(try await UserStore.find(email: "person@example.com", on: app.db)?.id)
            let staff = try await AdminTests.makeAdmin(app, email: "boss@example.com")
            try await staff.get("/admin/billing")
            let given = try await staff.post(
                "/admin/billing/adjustments", ["email": "person@example.com", "credits": "12", "reason": "Outage on 3 December"])
            #expect(given.status == .seeOther && given.location == "/admin/billing?done=adjusted")
            #expect(try await staff.get("/admin/billing?done=adjusted").text.contains("The correction was made"))
            #expect(try await LedgerStore.balance(of: user, on: app.db).available == 17)
            let taken = try await staff.post(
                "/admin/billing/adjustments", ["email": "person@example.com", "credits": "-100", "reason": "Duplicate grant"])
            #expect(taken.status == .seeOther)
            #expect(try await LedgerStore.balance(of: user, on: app.db).available == 0)
            let audited = try #require(
                try await AuditEventModel.query(on: app.db).filter(\.$action == "credits.adjusted").sort(\.$occurredAt).all().last)
            #expect(audited.detail.contains(#""changed":"-17""#))
            // Never one's own balance.
            let own = try await staff.post("/admin/billing/adjustments", ["email": "boss@example.com", "credits": "1000", "reason": "a raise"])
            #expect(own.status == .badRequest && own.text.contains("Another admin has to correct your own balance."))
            for (credits, reason) in [
                ("0", "x y z"), ("9999999999999999999999", "a reason"), ("-9223372036854775808", "a reason"), ("1.5", "a reason"), ("5", ""),
            ] {
                let refused = try await staff.post(
                    "/admin/billing/adjustments", ["email": "person@example.com", "credits": credits, "reason": reason])
                #expect(refused.status == .badRequest && refused.text.contains(#"id="adjust-error""#), "\(credits)")
            }
            #expect(
                try await staff.post("/admin/billing/adjustments", ["email": "nobody@example.com", "credits": "5", "reason": "a reason"]).status
                    == .badRequest)
            #expect(try await AuditEventModel.query(on: app.db).filter(\.$action == "credits.adjusted").count() == 2)
            let history = try await person.get("/billing")
            #expect(
                history.text.contains("Correction by staff: Outage on 3 December") && history.text.contains("Correction by staff: Duplicate grant"))
            // Not for people without a staff role, nor for support staff.
            #expect(
                try await person.post("/admin/billing/adjustments", ["email": "person@example.com", "credits": "50", "reason": "free money"]).status
                    == .notFound)
            try await UserModel.query(on: app.db).filter(\.$email == "person@example.com").set(\.$role, to: .support).update()
            #expect(!(try await person.get("/admin/billing").text.contains("Correct a balance")))
            #expect(
                try await person.post("/admin/billing/adjustments", ["email": "boss@example.com", "credits": "50", "reason": "free money"]).status
                    == .notFound)
        }
    }
}

/// What a new account starts with.
@Suite struct BillingDefaultsTests {
    @Test func paymentsAreOfflineByDefaultAndStripeNeedsItsTwoSecrets() throws {
        let plain = try AppConfig.load(environment: [:])
        #expect(plain.stripe == nil && plain.packs == PacksFile.defaults)
        let stripe = try AppConfig.load(environment: [
            "PAYMENT_PROVIDER": "stripe", "STRIPE_SECRET_KEY": "sk_test_abc", "STRIPE_WEBHOOK_SECRET": "whsec_abc",
        ])
        #expect(stripe.stripe?.apiBase.absoluteString == "https://api.stripe.com" && stripe.redactedSummary["payments"]?.hasPrefix("stripe") == true)
        #expect(!stripe.redactedSummary.values.contains { $0.contains("sk_test_abc") || $0.contains("whsec_abc") })
        for (environment, variable) in [
            (["PAYMENT_PROVIDER": "paypal"], "PAYMENT_PROVIDER"),
            (["PAYMENT_PROVIDER": "stripe", "STRIPE_WEBHOOK_SECRET": "whsec_abc"], "STRIPE_SECRET_KEY"),
            (["PAYMENT_PROVIDER": "stripe", "STRIPE_SECRET_KEY": "sk_test_abc"], "STRIPE_WEBHOOK_SECRET"),
            (["PACKS_FILE": "/no/such/packs.json"], "PACKS_FILE"),
        ] {
            #expect(throws: ConfigError.self) { try AppConfig.load(environment: environment) }
            do { _ = try AppConfig.load(environment: environment) } catch { #expect(error.variable == variable) }
        }
    }

    @Test func twentyFreeCreditsByDefaultAndNoneWhenTurnedOff() throws {
        #expect(try AppConfig.load(environment: [:]).signUpGrantCredits == 20)
        #expect(try AppConfig.load(environment: ["SIGNUP_GRANT_CREDITS": "0"]).signUpGrantCredits == 0)
        #expect(throws: ConfigError.self) { try AppConfig.load(environment: ["SIGNUP_GRANT_CREDITS": "-1"]) }
    }

    @Test func aNewAccountGetsItsWelcomeCreditsOnce() async throws {
        try await withPictor({ $0.signUpGrantCredits = 20 }) { app in
            _ = try await signedInForAPI(app, email: "welcome@example.com")
            let user = try #require(try await UserStore.find(email: "welcome@example.com", on: app.db)?.id)
            #expect(try await LedgerStore.balance(of: user, on: app.db) == .init(available: 20, held: 0))
            let entries = try await LedgerEntryModel.query(on: app.db).filter(\.$userID == user).all()
            #expect(entries.map(\.kind) == [.grant] && entries.first?.reason == WelcomeCredits.reason)
            // Signing up again with the address gives nothing more.
            try await Accounts.signUp(Browser(app), email: "welcome@example.com")
            #expect(try await LedgerStore.balance(of: user, on: app.db) == .init(available: 20, held: 0))
            // An account the operator makes gets them too.
            try await OperatorTools.createAccount(email: "made@example.com", password: "a-long-enough-passphrase", administrator: false, app: app)
            let made = try #require(try await UserStore.find(email: "made@example.com", on: app.db)?.id)
            #expect(try await LedgerStore.balance(of: made, on: app.db) == .init(available: 20, held: 0))
        }
        try await withPictor({ $0.signUpGrantCredits = 0 }) { app in
            _ = try await signedInForAPI(app, email: "nothing@example.com")
            let user = try #require(try await UserStore.find(email: "nothing@example.com", on: app.db)?.id)
            #expect(try await LedgerStore.balance(of: user, on: app.db) == .init(available: 0, held: 0))
        }
    }
}

/// The operator gives credits from the command line (until the admin pages do), audited.
@Suite struct StaffGrantTests {
    @Test func aGrantAddsFreeCreditsWithItsReasonAndIsAudited() async throws {
        try await withPictor({ $0.signUpGrantCredits = 0 }) { app in
            _ = try await signedInForAPI(app, email: "gift@example.com")
            let user = try #require(try await UserStore.find(email: "gift@example.com", on: app.db)?.id)
            try await OperatorTools.grantCredits(50, email: "Gift@Example.com", reason: "Sorry for the outage", app: app)
            #expect(try await LedgerStore.balance(of: user, on: app.db) == .init(available: 50, held: 0))
            let entry = try #require(try await LedgerEntryModel.query(on: app.db).filter(\.$userID == user).first())
            #expect(entry.kind == .grant && entry.reason == "Sorry for the outage")
            let audit = try #require(try await AuditEventModel.query(on: app.db).filter(\.$action == "credits.granted").first())
            #expect(audit.targetID == user.uuidString && audit.detail.contains("Sorry for the outage"))
            await #expect(throws: AdminCommand.CommandError.self) {
                try await OperatorTools.grantCredits(5, email: "nobody@example.com", reason: "x", app: app)
            }
        }
    }
}

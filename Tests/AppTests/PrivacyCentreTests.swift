import Domain
import Fluent
import Foundation
import Persistence
import Testing
import Vapor
import VaporTesting

@testable import App

/// The privacy centre: what is held, restrictions in force at once and recorded, GPC honoured.
@Suite struct PrivacyCentreTests {
    @Test func theCentreShowsWhatIsHeldAndRestrictionsTakeEffectAtOnceAndAreRecorded() async throws {
        try await withPictor { app in
            let person = try await Accounts.signedIn(app, email: "private@example.com")
            let user = try #require(try await UserStore.find(email: "private@example.com", on: app.db)?.id)
            let page = try await person.get("/privacy/centre")
            #expect(page.status == .ok)
            // From the inventory: the account row, its sessions, the welcome credits (kept by law after deletion).
            #expect(page.text.contains("Your account: how you sign in") && page.text.contains("user.contact.email"))
            #expect(page.text.contains("Every movement of your credits") && page.text.contains("kept by law after deletion"))
            #expect(page.text.contains("No requests yet."))
            #expect(try await !PrivacyRestrictionStore.has(.modelImprovement, user: user, on: app.db))

            let set = try await person.post("/privacy/centre/restrictions", ["kind": "model_improvement", "on": "true"])
            #expect(set.status == .seeOther && set.location == "/privacy/centre?done=saved")
            #expect(try await PrivacyRestrictionStore.has(.modelImprovement, user: user, on: app.db))
            // Asked twice, recorded once.
            try await person.post("/privacy/centre/restrictions", ["kind": "model_improvement", "on": "true"])
            var requests = try await PrivacyRequestStore.requests(of: user, limit: 10, on: app.db)
            #expect(requests.count == 1 && requests[0].kind == .restriction && requests[0].state == .complete)
            #expect(requests[0].detail == "model_improvement" && requests[0].jurisdiction == .gdpr)
            let after = try await person.get("/privacy/centre?done=saved")
            #expect(after.text.contains("Saved. It applies from now on.") && after.text.contains("never used to improve an AI model"))
            #expect(!after.text.contains("No requests yet."))

            try await person.post("/privacy/centre/restrictions", ["kind": "model_improvement", "on": "false"])
            #expect(try await !PrivacyRestrictionStore.has(.modelImprovement, user: user, on: app.db))
            requests = try await PrivacyRequestStore.requests(of: user, limit: 10, on: app.db)
            #expect(requests.count == 2 && requests.contains { $0.outcome?.hasPrefix("lifted on") == true })
            #expect(
                try await AuditEventModel.query(on: app.db).filter(\.$action ~~ ["privacy.restriction.set", "privacy.restriction.lifted"]).count()
                    == 2)

            for bad in [["kind": "everything", "on": "true"], ["kind": "manual_review", "on": "maybe"], [:]] {
                #expect(try await person.post("/privacy/centre/restrictions", bad).status == .badRequest)
            }
            // Another person sees none of it; a visitor is sent to sign in.
            let other = try await Accounts.signedIn(app, email: "other-private@example.com")
            #expect(try await other.get("/privacy/centre").text.contains("No requests yet."))
            #expect(try await Browser(app).get("/privacy/centre").status == .seeOther)
        }
    }

    @Test func globalPrivacyControlOptsOutOnTheFirstVisitWithoutAsking() async throws {
        try await withPictor { app in
            let person = try await Accounts.signedIn(app, email: "gpc@example.com")
            let user = try #require(try await UserStore.find(email: "gpc@example.com", on: app.db)?.id)
            let first = try await person.get("/privacy/centre", headers: ["Sec-GPC": "1"])
            #expect(first.text.contains("Your browser sent Global Privacy Control"))
            #expect(try await PrivacyRestrictionStore.has(.saleOrSharing, user: user, on: app.db))
            let again = try await person.get("/privacy/centre", headers: ["Sec-GPC": "1"])
            #expect(!again.text.contains("Your browser sent Global Privacy Control"))
            let requests = try await PrivacyRequestStore.requests(of: user, limit: 10, on: app.db)
            #expect(requests.count == 1 && requests[0].kind == .optOut && requests[0].channel == .globalPrivacyControl)
            // Its later absence is no opt-in.
            try await person.get("/privacy/centre")
            #expect(try await PrivacyRestrictionStore.has(.saleOrSharing, user: user, on: app.db))
        }
    }
}

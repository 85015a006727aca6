import Domain
import Fluent
import Foundation
import Persistence
import Testing
import Vapor
import VaporTesting

@testable import App

@Suite struct AdminTests {
    static func makeAdmin(_ app: Application, email: String) async throws -> Browser {
        let browser = try await Accounts.signedIn(app, email: email)
        try await UserModel.query(on: app.db).filter(\.$email == email).set(\.$role, to: .admin).update()
        return browser
    }

    @Test func usersCannotReachAdminRoutes() async throws {
        try await withPictor { app in
            let user = try await Accounts.signedIn(app, email: "user@example.com")
            #expect(try await user.get("/admin").status == .notFound)
            #expect(try await user.get("/admin/audit").status == .notFound)
            #expect(try await Browser(app).get("/admin").status == .notFound, "nor do visitors")
            try await UserModel.query(on: app.db).filter(\.$email == "user@example.com").set(\.$role, to: .support).update()
            #expect(try await user.get("/admin").status == .ok, "support staff see the console")
            #expect(try await user.get("/admin/audit").status == .notFound, "but not the audit log")
        }
    }

    @Test func adminsSearchTheAuditLogAndTheSearchIsAudited() async throws {
        try await withPictor { app in
            _ = try await Accounts.signedIn(app, email: "someone@example.com")
            let attacker = Browser(app)
            try await attacker.get("/login")
            try await attacker.post("/login", ["email": "someone@example.com", "password": "not-it-at-all"])
            let admin = try await Self.makeAdmin(app, email: "root@example.com")
            let all = try await admin.get("/admin/audit")
            #expect(all.status == .ok && all.text.contains("login.failed") && all.text.contains("account.created"))
            let logins = try await admin.get("/admin/audit?action=login.fail")
            #expect(logins.text.contains("login.failed") && !logins.text.contains("account.created"))
            let byActor = try await admin.get("/admin/audit?actor=root%40example.com")
            #expect(byActor.text.contains("root@example.com") && !byActor.text.contains("someone@example.com"))
            #expect(try await admin.get("/admin/audit?actor=nobody%40example.com").text.contains("No events match."))
            let viewed = try await AuditEventModel.query(on: app.db).filter(\.$action == "admin.audit.viewed").all()
            #expect(viewed.count == 4)
            // Whom a search was about is kept by id, never by the email searched for.
            #expect(!viewed.contains { $0.detail.contains("@") })
            let root = try #require(try await UserModel.query(on: app.db).filter(\.$email == "root@example.com").first()?.id)
            #expect(viewed.contains { $0.targetID == root.uuidString })
        }
    }

    @Test func suspendedAccountsCannotAct() async throws {
        try await withPictor { app in
            let browser = try await Accounts.signedIn(app, email: "gone@example.com")
            try await UserModel.query(on: app.db).filter(\.$email == "gone@example.com").set(\.$status, to: .suspended).update()
            #expect(try await browser.get("/account").status == .seeOther, "the live session stops working")
            let again = Browser(app)
            try await again.get("/login")
            let response = try await again.post("/login", ["email": "gone@example.com", "password": Accounts.password])
            #expect(response.status == .forbidden)
            #expect(response.text.contains("This account cannot be used right now."))
            try await UserModel.query(on: app.db).filter(\.$email == "gone@example.com").set(\.$status, to: .pendingDeletion).update()
            try await again.get("/login")
            #expect(try await again.post("/login", ["email": "gone@example.com", "password": Accounts.password]).status == .forbidden)
        }
    }
}

@Suite struct APIKeyTests {
    func createKey(_ browser: Browser, name: String, scopes: [String]) async throws -> String {
        try await browser.get("/account/api-keys")
        var fields = ["name": name]
        for scope in scopes { fields["scope_\(scope)"] = "on" }
        let response = try await browser.post("/account/api-keys", fields)
        #expect(response.status == .created)
        let match = try #require(response.text.firstMatch(of: /<code id="new-key" class="secret">(pictor_[a-z0-9]+_[A-Za-z0-9_-]+)<\/code>/))
        return String(match.1)
    }

    @Test func keysAreShownOnceStoredHashedScopedAndRevocable() async throws {
        try await withPictor { app in
            let browser = try await Accounts.signedIn(app, email: "dev@example.com")
            let key = try await createKey(browser, name: "backup script", scopes: ["account:read"])
            let row = try #require(try await APIKeyModel.query(on: app.db).first())
            #expect(row.keyHash == Tokens.sha256(key) && !row.keyHash.contains(key))
            #expect(key.hasPrefix(row.prefix + "_"))
            let list = try await browser.get("/account/api-keys")
            #expect(list.text.contains(row.prefix) && !list.text.contains(key), "listed by prefix, never in full again")

            let me = try await app.testing().sendRequest(.GET, "/api/v1/me", headers: ["Authorization": "Bearer \(key)"])
            #expect(me.status == .ok)
            let body = try me.content.decode(APIKeysController.Me.self)
            #expect(body.email == "dev@example.com")
            #expect(try await APIKeyModel.find(row.id, on: app.db)?.lastUsedAt != nil)

            // An API key cannot manage the account (it could otherwise mint itself more power).
            let escalate = try await app.testing().sendRequest(
                .POST, "/account/api-keys",
                headers: [
                    "Authorization": "Bearer \(key)", "Content-Type": "application/x-www-form-urlencoded",
                ], body: ByteBuffer(string: "name=evil&scope_generations%3Awrite=on"))
            #expect(escalate.status == .forbidden)
            #expect(try await APIKeyModel.query(on: app.db).count() == 1)

            try await browser.get("/account/api-keys")
            #expect(try await browser.post("/account/api-keys/\(row.id!.uuidString)/revoke").location == "/account/api-keys")
            let revoked = try await app.testing().sendRequest(.GET, "/api/v1/me", headers: ["Authorization": "Bearer \(key)"])
            #expect(revoked.status == .unauthorized)
            #expect(revoked.headers.contentType?.description == "application/problem+json")
        }
    }

    @Test func aKeyWithoutTheScopeIsRefused() async throws {
        try await withPictor { app in
            let browser = try await Accounts.signedIn(app, email: "scoped@example.com")
            let key = try await createKey(browser, name: "generator", scopes: ["generations:write"])
            let me = try await app.testing().sendRequest(.GET, "/api/v1/me", headers: ["Authorization": "Bearer \(key)"])
            #expect(me.status == .forbidden)
            let forged = try await app.testing().sendRequest(.GET, "/api/v1/me", headers: ["Authorization": "Bearer \(key)x"])
            #expect(forged.status == .unauthorized)
        }
    }

    @Test func aKeyRecordsItsUseAndStopsWithItsAccount() async throws {
        try await withPictor { app in
            let browser = try await Accounts.signedIn(app, email: "keyed@example.com")
            let key = try await createKey(browser, name: "reader", scopes: ["account:read"])
            let headers: HTTPHeaders = ["Authorization": "Bearer \(key)"]
            #expect(try await app.testing().sendRequest(.GET, "/api/v1/me", headers: headers).status == .ok)
            #expect(try await APIKeyModel.query(on: app.db).first()?.lastUsedAt != nil, "the use is recorded")
            try await UserModel.query(on: app.db).filter(\.$email == "keyed@example.com").set(\.$status, to: .suspended).update()
            #expect(try await app.testing().sendRequest(.GET, "/api/v1/me", headers: headers).status == .unauthorized)
        }
    }

    /// Secrets are base64url, so they can hold "_": the key still parses.
    @Test func aSecretWithUnderscoresStillAuthenticates() async throws {
        try await withPictor { app in
            _ = try await Accounts.signedIn(app, email: "under@example.com")
            let user = try #require(try await UserModel.query(on: app.db).first())
            let key = "pictor_abcd2345_sec_ret_with_under_scores"
            let row = APIKeyModel()
            row.userID = user.id!
            row.name = "n"
            row.prefix = "pictor_abcd2345"
            row.keyHash = Tokens.sha256(key)
            row.scopes = "account:read"
            row.createdAt = Date()
            try await row.create(on: app.db)
            #expect(try await APIKeys.authenticate(key, now: Date(), on: app.db)?.email == "under@example.com")
            #expect(try await APIKeys.authenticate("pictor_abcd2345_wrong", now: Date(), on: app.db) == nil)
        }
    }

    @Test func anotherPersonsKeyCannotBeRevoked() async throws {
        try await withPictor { app in
            let ada = try await Accounts.signedIn(app, email: "ada3@example.com")
            _ = try await createKey(ada, name: "mine", scopes: ["account:read"])
            let id = try #require(try await APIKeyModel.query(on: app.db).first()?.id)
            let bob = try await Accounts.signedIn(app, email: "bob3@example.com")
            try await bob.get("/account/api-keys")
            #expect(try await bob.post("/account/api-keys/\(id.uuidString)/revoke").status == .notFound)
            #expect(try await APIKeyModel.find(id, on: app.db)?.revokedAt == nil)
        }
    }

    @Test func creatingAKeyNeedsANameAndAScope() async throws {
        try await withPictor { app in
            let browser = try await Accounts.signedIn(app, email: "form@example.com")
            try await browser.get("/account/api-keys")
            let response = try await browser.post("/account/api-keys", ["name": ""])
            #expect(response.status == .unprocessableEntity)
            #expect(response.text.contains(#"id="name-error""#) && response.text.contains(#"id="scopes-error""#))
        }
    }
}

@Suite struct SessionsAPITests {
    @Test func listAndEndSessionsAsJSONWithTheCSRFHeader() async throws {
        try await withPictor { app in
            let laptop = try await Accounts.signedIn(app, email: "json@example.com", remember: true)
            let cookie = try #require(laptop.cookies[app.pictor.cookies.sessionName])
            let phone = Browser(app)
            try await phone.get("/login")
            try await phone.post("/login", ["email": "json@example.com", "password": Accounts.password])
            let headers: HTTPHeaders = ["Cookie": "\(app.pictor.cookies.sessionName)=\(cookie)", "Accept": "application/json"]
            let list = try await app.testing().sendRequest(.GET, "/api/v1/account/sessions", headers: headers)
            let sessions = try list.content.decode([SessionsAPI.Session].self)
            #expect(sessions.count == 2 && sessions.filter(\.current).count == 1)
            let other = try #require(sessions.first { !$0.current })

            let noToken = try await app.testing().sendRequest(.DELETE, "/api/v1/account/sessions/\(other.id)", headers: headers)
            #expect(noToken.status == .forbidden, "cookie-authenticated writes need the CSRF header")
            try await laptop.get("/account/sessions")  // a signed-in page carries the session's token
            var withToken = headers
            withToken.add(name: "X-CSRF-Token", value: try #require(laptop.csrf))
            let ended = try await app.testing().sendRequest(.DELETE, "/api/v1/account/sessions/\(other.id)", headers: withToken)
            #expect(ended.status == .noContent)
            #expect(try await phone.get("/account").status == .seeOther)
        }
    }

    @Test func rememberMeKeepsTheCookieForThirtyDaysOtherwiseForTheBrowserSession() async throws {
        try await withPictor { app in
            for remember in [true, false] {
                let browser = try await Accounts.signedIn(app, email: "r\(remember)@example.com", remember: false)
                try await browser.post("/logout")
                try await browser.get("/login")
                var fields = ["email": "r\(remember)@example.com", "password": Accounts.password]
                if remember { fields["remember"] = "on" }
                let response = try await browser.post("/login", fields)
                let setCookie = try #require(response.headers[.setCookie].first { $0.hasPrefix(app.pictor.cookies.sessionName) })
                #expect(setCookie.contains("Max-Age=2592000") == remember, "\(setCookie)")
                #expect(setCookie.contains("HttpOnly") && setCookie.contains("Secure") && setCookie.contains("SameSite=Lax"))
                #expect(setCookie.contains("Path=/"))
            }
        }
    }
}

@Suite struct DeadLetterPageTests {
    @Test func adminsSeeJobsThatFailedForGood() async throws {
        try await withPictor { app in
            let id = try await JobQueue.enqueue(NewJob(kind: "mail.send", payload: "{}"), now: Date(), on: app.db)
            _ = try await JobQueue.claim(owner: "w", leaseFor: 60, now: Date(), on: app.db)
            try await JobQueue.bury(id, owner: "w", error: "550 mailbox <unavailable>", now: Date(), on: app.db)
            let admin = try await AdminTests.makeAdmin(app, email: "jobs-admin@example.com")
            let page = try await admin.get("/admin/jobs")
            #expect(page.status == .ok)
            #expect(page.text.contains("mail.send") && page.text.contains("550 mailbox &lt;unavailable&gt;"))
            #expect(page.text.contains(id.uuidString))
            let user = try await Accounts.signedIn(app, email: "not-admin@example.com")
            #expect(try await user.get("/admin/jobs").status == .notFound)
        }
    }
}

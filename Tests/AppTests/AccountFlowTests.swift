import Domain
import Fluent
import Foundation
import NIOCore
import Persistence
import SQLKit
import Testing
import Vapor
import VaporTesting

@testable import App

@Suite struct AccountFlowTests {
    @Test func signUpConfirmSignInSeeSessionsSignOut() async throws {
        try await withPictor { app in
            let browser = try await Accounts.signedIn(app, email: "ada@example.com")
            let account = try await browser.get("/account")
            #expect(account.status == .ok)
            #expect(account.text.contains("ada@example.com") && account.text.contains("confirmed"))
            let sessions = try await browser.get("/account/sessions")
            #expect(sessions.text.contains("Firefox on Linux") && sessions.text.contains("this device"))

            let user = try #require(try await UserModel.query(on: app.db).filter(\.$email == "ada@example.com").first())
            #expect(app.pictor.config.passwordHashCost == 4)  // withPictor's; the default (12) is in ConfigTests
            #expect(user.passwordHash.hasPrefix("$2b$04$"), "bcrypt at the configured cost")
            #expect(user.termsVersion == app.pictor.config.termsVersion && user.privacyVersion == app.pictor.config.privacyVersion)

            let out = try await browser.post("/logout")
            #expect(out.location == "/")
            let after = try await browser.get("/account")
            #expect(after.status == .seeOther && after.location == "/login?next=%2Faccount")
            let actions = try await AuditEventModel.query(on: app.db).all().map(\.action)
            #expect(Set(actions).isSuperset(of: ["account.created", "email.verified", "login.succeeded", "logout"]))
        }
    }

    @Test func signUpNeverRevealsWhetherAnEmailIsRegistered() async throws {
        try await withPictor { app in
            _ = try await Accounts.signedIn(app, email: "taken@example.com")
            let first = try await Accounts.signUp(Browser(app), email: "new@example.com")
            let second = try await Accounts.signUp(Browser(app), email: "taken@example.com")
            #expect(first.status == second.status)
            #expect(first.location == "/verify-email?sent=1&email=new%40example.com")
            #expect(second.location == "/verify-email?sent=1&email=taken%40example.com")
            #expect(try await UserModel.query(on: app.db).filter(\.$email == "taken@example.com").count() == 1)
            let notice = try await Accounts.mails(to: "taken@example.com", app: app).first
            #expect(notice?.subject == "Someone tried to sign up to Pictor with your email")
        }
    }

    @Test func signInAndResetAnswerAlikeForUnknownAndKnownEmails() async throws {
        try await withPictor { app in
            _ = try await Accounts.signedIn(app, email: "known@example.com")
            func attempt(_ email: String) async throws -> (HTTPStatus, String) {
                let browser = Browser(app)
                try await browser.get("/login")
                let response = try await browser.post("/login", ["email": email, "password": "not-the-password-1"])
                return (response.status, Self.flash(response.text))
            }
            let known = try await attempt("known@example.com")
            let unknown = try await attempt("nobody@example.com")
            #expect(known == unknown)
            #expect(known == (.unauthorized, "The email or password is not right."))

            func forgot(_ email: String) async throws -> (HTTPStatus, String) {
                let browser = Browser(app)
                try await browser.get("/forgot-password")
                let response = try await browser.post("/forgot-password", ["email": email])
                return (response.status, Self.flash(response.text))
            }
            #expect(try await forgot("known@example.com") == forgot("nobody@example.com"))
        }
    }

    /// A session ends after a day without a request, by the service's clock: moved here, not the rows.
    @Test func aSessionUnusedForADayIsSignedOut() async throws {
        try await withPictor { app in
            let clock = MovableClock()
            app.pictor = app.pictor.with(clock: clock)
            let browser = try await Accounts.signedIn(app, email: "idle@example.com")
            clock.advance(by: SessionPolicy.standard.idle - 60)
            #expect(try await browser.get("/account").status == .ok, "a request within the day keeps it")
            clock.advance(by: SessionPolicy.standard.idle - 60)
            #expect(try await browser.get("/account").status == .ok, "counted from the last request, not the sign-in")
            clock.advance(by: SessionPolicy.standard.idle + 1)
            let after = try await browser.get("/account")
            #expect(after.status == .seeOther && after.location?.hasPrefix("/login") == true)
        }
    }

    @Test func sessionIdIsNewAtEverySignIn() async throws {
        try await withPictor { app in
            let browser = try await Accounts.signedIn(app, email: "fix@example.com")
            let policy = app.pictor.cookies
            let first = try #require(browser.cookies[policy.sessionName])
            // An attacker plants a token before the victim signs in: it is never adopted.
            let fixed = "planted-token-value"
            try await browser.post("/logout")
            let again = Browser(app)
            try await again.get("/login")
            again.setCookie(policy.sessionName, fixed)
            try await again.post("/login", ["email": "fix@example.com", "password": Accounts.password])
            let second = try #require(again.cookies[policy.sessionName])
            #expect(second != fixed && second != first)
            let stored = try await SessionModel.query(on: app.db).all().map(\.tokenHash)
            #expect(!stored.contains(first) && !stored.contains(second), "only hashes are stored")
            #expect(stored.contains(Tokens.sha256(second)))
        }
    }

    @Test func confirmationCodesAreSingleUseExpireAndAllowFiveGuesses() async throws {
        try await withPictor { app in
            let clock = MovableClock()
            app.pictor = app.pictor.with(clock: clock)
            let browser = Browser(app)
            try await Accounts.signUp(browser, email: "codes@example.com")
            let code = try #require(try await Accounts.mailedCode(to: "codes@example.com", app: app))
            try await browser.get("/verify-email")
            let wrong = try await browser.post("/verify-email", ["email": "codes@example.com", "code": code == "000000" ? "111111" : "000000"])
            #expect(wrong.status == .unprocessableEntity)
            #expect(wrong.text.contains("That code is not valid. It may have expired or been used already."))
            #expect(try await browser.post("/verify-email", ["email": "codes@example.com", "code": code]).location == "/login?confirmed=1")
            try await browser.get("/verify-email")
            #expect(
                try await browser.post("/verify-email", ["email": "codes@example.com", "code": code]).status == .unprocessableEntity,
                "a used code is refused")

            // Expired: a fresh reset code, its hour passed on the clock (no row edited).
            try await browser.get("/forgot-password")
            try await browser.post("/forgot-password", ["email": "codes@example.com"])
            let reset = try #require(try await Accounts.mailedCode(to: "codes@example.com", app: app))
            clock.advance(by: OneTimeCodes.lifetime + 1)
            try await browser.get("/reset-password")
            let expired = try await browser.post(
                "/reset-password", ["email": "codes@example.com", "code": reset, "password": "a-brand-new-passphrase"])
            #expect(expired.status == .unprocessableEntity)

            // Five wrong guesses use a code up, even for the right one after.
            try await OneTimeCodeModel.query(on: app.db).delete()
            try await browser.get("/forgot-password")
            try await browser.post("/forgot-password", ["email": "codes@example.com"])
            let guessed = try #require(try await Accounts.mailedCode(to: "codes@example.com", app: app))
            for _ in 0..<5 {
                try await browser.get("/reset-password")
                try await browser.post(
                    "/reset-password",
                    ["email": "codes@example.com", "code": guessed == "123456" ? "654321" : "123456", "password": "a-brand-new-passphrase"])
            }
            try await browser.get("/reset-password")
            #expect(
                try await browser.post("/reset-password", ["email": "codes@example.com", "code": guessed, "password": "a-brand-new-passphrase"])
                    .status == .unprocessableEntity)
        }
    }

    @Test func passwordResetEndsEverySessionAndTheOldPassword() async throws {
        try await withPictor { app in
            let laptop = try await Accounts.signedIn(app, email: "reset@example.com")
            let phone = Browser(app)
            try await phone.get("/forgot-password")
            try await phone.post("/forgot-password", ["email": "reset@example.com"])
            let code = try #require(try await Accounts.mailedCode(to: "reset@example.com", app: app))
            try await phone.get("/reset-password")
            let done = try await phone.post("/reset-password", ["email": "reset@example.com", "code": code, "password": "tangerine-orbit-quiet"])
            #expect(done.location == "/login?reset=1")
            #expect(try await laptop.get("/account").location?.hasPrefix("/login") == true, "the other device is signed out")
            let notice = try await Accounts.mails(to: "reset@example.com", app: app).filter { $0.subject == "Your Pictor password was changed" }.count
            #expect(notice == 1)
            let old = Browser(app)
            try await old.get("/login")
            #expect(try await old.post("/login", ["email": "reset@example.com", "password": Accounts.password]).status == .unauthorized)
            try await old.get("/login")
            #expect(try await old.post("/login", ["email": "reset@example.com", "password": "tangerine-orbit-quiet"]).location == "/account")
        }
    }

    @Test func underThirteenStoresNothingButARetryCookie() async throws {
        try await withPictor { app in
            let browser = Browser(app)
            let tenYearsAgo = Calendar(identifier: .gregorian).date(byAdding: .year, value: -10, to: Date())!
            let birth = ISO8601DateFormatter.string(from: tenYearsAgo, timeZone: .gmt, formatOptions: [.withFullDate])
            let refused = try await Accounts.signUp(browser, email: "kid@example.com", birthDate: birth)
            #expect(refused.status == .ok)
            #expect(refused.text.contains("Sorry, we are not able to create a Pictor account for you."))
            let words = Set(refused.text.lowercased().split { !$0.isLetter && !$0.isNumber })
            #expect(words.isDisjoint(with: ["13", "age", "old", "older", "young", "years", "birthday"]), "the message hints at no cut-off")
            #expect(browser.cookies[app.pictor.cookies.ageScreenName] == "1")
            #expect(try await UserModel.query(on: app.db).count() == 0)
            #expect(try await MailOutboxModel.query(on: app.db).count() == 0)
            #expect(try await AuditEventModel.query(on: app.db).count() == 0)
            // Changing the date does not help: the cookie stops a retry.
            let retry = try await Accounts.signUp(browser, email: "kid@example.com", birthDate: "1980-01-01")
            #expect(retry.text.contains("Sorry, we are not able to create a Pictor account for you."))
            #expect(try await UserModel.query(on: app.db).count() == 0)
        }
    }

    @Test func signUpFormShowsErrorsNextToFields() async throws {
        try await withPictor { app in
            let browser = Browser(app)
            try await browser.get("/signup")
            let response = try await browser.post("/signup", ["email": "not-an-email", "password": "password", "birthDate": "2999-01-01"])
            #expect(response.status == .unprocessableEntity)
            #expect(response.text.contains(#"<p class="field-error" id="email-error">Enter an email address like name@example.com.</p>"#))
            #expect(response.text.contains(#"id="birthDate-error">Enter your date of birth.</p>"#))
            #expect(response.text.contains(#"id="acceptTerms-error">"#))
            #expect(response.text.contains(#"value="not-an-email""#), "what was typed is kept")
            let common = try await browser.post(
                "/signup", ["email": "x@example.com", "password": "password123", "birthDate": "1990-01-01", "acceptTerms": "on"])
            #expect(common.text.contains("on lists of leaked passwords"))
            #expect(try await UserModel.query(on: app.db).count() == 0)
        }
    }

    @Test func repeatedFailuresLockSignInAndAreAudited() async throws {
        try await withPictor { app in
            _ = try await Accounts.signedIn(app, email: "locked@example.com")
            let attacker = Browser(app)
            for _ in 0..<5 {
                try await attacker.get("/login")
                #expect(try await attacker.post("/login", ["email": "locked@example.com", "password": "guess-guess-guess"]).status == .unauthorized)
            }
            try await attacker.get("/login")
            let locked = try await attacker.post("/login", ["email": "locked@example.com", "password": Accounts.password])
            #expect(locked.location == "/login/two-factor", "even the right password alone does not sign in while paused")
            #expect(attacker.cookies[app.pictor.cookies.sessionName] == nil)
            let actions = try await AuditEventModel.query(on: app.db).all().map(\.action)
            #expect(actions.filter { $0 == "login.failed" }.count == 4)
            #expect(actions.contains("login.locked") && actions.contains("login.while_paused"))
            let ips = try await AuditEventModel.query(on: app.db).all().map(\.ipPrefix)
            #expect(ips.allSatisfy { !$0.isEmpty })
        }
    }

    /// A lock set by someone guessing never locks the owner out: while the account's sign-in is
    /// paused, the right password brings a mailed code, and the code signs in (and ends the pause).
    /// A wrong password looks the same from outside (the same page, a cookie, a job) but no code
    /// ever works for it.
    @Test func theOwnerGetsInDuringALockWithTheirPasswordAndAMailedCode() async throws {
        try await withPictor { app in
            _ = try await Accounts.signedIn(app, email: "paused@example.com")
            let guesser = try await Accounts.pauseSignIn(app, email: "paused@example.com")
            let mailsBefore = try await Accounts.mails(to: "paused@example.com", app: app).count

            // The guesser, still wrong: the code page, and no code will do.
            try await guesser.get("/login")
            let wrong = try await guesser.post("/login", ["email": "paused@example.com", "password": "another-guess-here"])
            #expect(wrong.location == "/login/two-factor" && guesser.cookies[app.pictor.cookies.pendingSignInName] != nil)
            let page = try await guesser.get("/login/two-factor")
            #expect(page.status == .ok && page.text.contains("Sign-in to this account is paused"))
            try await Accounts.issueRequestedResetCodes(app)
            #expect(try await Accounts.mails(to: "paused@example.com", app: app).count == mailsBefore, "no code for a wrong password")

            // The owner, with the right password: a code by mail, which signs in.
            let owner = Browser(app)
            try await owner.get("/login")
            let right = try await owner.post("/login", ["email": "paused@example.com", "password": Accounts.password])
            #expect(right.location == "/login/two-factor" && owner.cookies[app.pictor.cookies.sessionName] == nil)
            let code = try #require(try await Accounts.mailedCode(to: "paused@example.com", app: app))
            try await owner.get("/login/two-factor")
            // The guesser's decoy does not take the owner's code.
            #expect(try await guesser.post("/login/two-factor", ["code": code]).status == .unauthorized)
            let signedIn = try await owner.post("/login/two-factor", ["code": code])
            #expect(signedIn.location == "/account" && owner.cookies[app.pictor.cookies.sessionName] != nil)
            #expect(try await owner.get("/account").status == .ok)
            // The pause has ended: the next sign-in with the password alone works.
            let later = Browser(app)
            try await later.get("/login")
            #expect(try await later.post("/login", ["email": "paused@example.com", "password": Accounts.password]).location == "/account")
        }
    }

    @Test func unconfirmedAccountsCannotSignIn() async throws {
        try await withPictor { app in
            let browser = Browser(app)
            try await Accounts.signUp(browser, email: "later@example.com")
            try await browser.get("/login")
            let response = try await browser.post("/login", ["email": "later@example.com", "password": Accounts.password])
            #expect(response.status == .forbidden)
            #expect(response.text.contains("Confirm your email address first"))
        }
    }

    @Test func nobodyEndsAnotherPersonsSession() async throws {
        try await withPictor { app in
            let ada = try await Accounts.signedIn(app, email: "ada2@example.com")
            let bob = try await Accounts.signedIn(app, email: "bob@example.com")
            let adaSession = try #require(
                try await SessionModel.query(on: app.db).all().first { session in
                    session.tokenHash == Tokens.sha256(ada.cookies[app.pictor.cookies.sessionName]!)
                })
            try await bob.get("/account/sessions")
            let attempt = try await bob.post("/account/sessions/\(adaSession.id!.uuidString)/revoke")
            #expect(attempt.status == .notFound)
            #expect(try await ada.get("/account").status == .ok)
        }
    }

    @Test func signingOutOtherDevicesKeepsThisOne() async throws {
        try await withPictor { app in
            let laptop = try await Accounts.signedIn(app, email: "multi@example.com")
            let phone = Browser(app)
            try await phone.get("/login")
            try await phone.post("/login", ["email": "multi@example.com", "password": Accounts.password])
            try await laptop.get("/account/sessions")
            #expect(try await laptop.post("/account/sessions/revoke-others").location == "/account/sessions?ended=others")
            #expect(try await laptop.get("/account").status == .ok)
            #expect(try await phone.get("/account").status == .seeOther)
        }
    }

    @Test func redirectAfterSignInStaysOnThisSite() {
        #expect(SignInController.safeNext("/account/sessions") == "/account/sessions")
        #expect(SignInController.safeNext("//evil.example/x") == nil)
        #expect(SignInController.safeNext("https://evil.example") == nil)
        #expect(SignInController.safeNext("/\\evil.example") == nil)
    }

    static func flash(_ html: String) -> String {
        guard let start = html.range(of: #"role="alert" id="login-error">"#) ?? html.range(of: #"role="status">"#) else { return "" }
        let rest = html[start.upperBound...]
        return String(rest[..<(rest.range(of: "</p>")?.lowerBound ?? rest.endIndex)])
    }
}

@Suite struct CSRFTests {
    @Test func formsWithoutTheTokenAreRefused() async throws {
        try await withPictor { app in
            let browser = Browser(app)
            try await browser.get("/login")
            let missing = try await browser.post("/login", ["email": "a@example.com", "password": "x"], csrf: false)
            #expect(missing.status == .forbidden)
            #expect(missing.text.contains("This form has expired. Reload the page and try again."))
            let forged = try await browser.post("/login", ["email": "a@example.com", "password": "x", "_csrf": "forged"], csrf: false)
            #expect(forged.status == .forbidden)
        }
    }

    @Test func crossSiteRequestsAreRefusedEvenWithAToken() async throws {
        try await withPictor { app in
            let browser = try await Accounts.signedIn(app, email: "csrf@example.com")
            try await browser.get("/account/sessions")
            browser.origin = "https://evil.example"
            #expect(try await browser.post("/account/sessions/revoke-others").status == .forbidden)
            browser.origin = nil
            #expect(try await browser.post("/account/sessions/revoke-others", headers: ["Sec-Fetch-Site": "cross-site"]).status == .forbidden)
            #expect(try await browser.post("/account/sessions/revoke-others", headers: ["Sec-Fetch-Site": "same-origin"]).status == .seeOther)
        }
    }

    @Test func anotherVisitorsTokenDoesNotWork() async throws {
        try await withPictor { app in
            let mallory = Browser(app)
            try await mallory.get("/login")
            let stolen = try #require(mallory.csrf)
            let victim = Browser(app)
            try await victim.get("/")
            let response = try await victim.post("/login", ["email": "a@example.com", "password": "x", "_csrf": stolen], csrf: false)
            #expect(response.status == .forbidden)
        }
    }
}

@Suite struct AccountRulesTests {
    @Test(arguments: [
        ("2013-11-25", "2026-11-25", AgeScreen.Outcome.oldEnough),
        ("2013-11-26", "2026-11-25", .tooYoung),
        ("2012-02-29", "2025-02-28", .tooYoung),
        ("2012-02-29", "2025-03-01", .oldEnough),
        ("2030-01-01", "2026-11-25", .implausible),
        ("1850-01-01", "2026-11-25", .implausible),
    ])
    func ageScreen(_ birth: String, _ today: String, _ outcome: AgeScreen.Outcome) throws {
        #expect(AgeScreen.screen(birth: try #require(AgeScreen.Day(iso: birth)), today: try #require(AgeScreen.Day(iso: today))) == outcome)
    }

    @Test(arguments: ["2023-02-29", "2023-13-01", "23-01-01", "yesterday", ""])
    func impossibleDatesAreNotDates(_ text: String) {
        #expect(AgeScreen.Day(iso: text) == nil)
    }

    /// After PASSWORD_HASH_COST changes, a right password is hashed again at the new cost (the
    /// decoy for unknown emails is at the new cost, and the times must match); a wrong one changes nothing.
    @Test func aPasswordHashedAtAnotherCostIsMadeAgainAtSignIn() async throws {
        try await withPictor { app in
            let email = "grace@example.com"
            _ = try await Accounts.signedIn(app, email: email)
            func stored() async throws -> UserModel { try #require(try await UserModel.query(on: app.db).filter(\.$email == email).first()) }
            let user = try await stored()
            user.passwordHash = try Bcrypt.hash(Accounts.password, cost: 5)
            try await user.save(on: app.db)

            let browser = Browser(app)
            try await browser.get("/login")
            let wrong = try await browser.post("/login", ["email": email, "password": "not-the-password"])
            #expect(wrong.status == .unauthorized)
            #expect(try await stored().passwordHash.hasPrefix("$2b$05$"))

            let right = try await browser.post("/login", ["email": email, "password": Accounts.password])
            #expect(right.status == .seeOther && right.location == "/account")
            let remade = try await stored().passwordHash
            #expect(remade.hasPrefix("$2b$04$"))
            #expect(try Bcrypt.verify(Accounts.password, created: remade))
        }
    }

    @Test func bcryptCostsAreRead() {
        #expect(bcryptCost(of: "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW") == 12)
        #expect(bcryptCost(of: "$2y$04$abc") == 4)
        #expect(bcryptCost(of: "plain-text") == nil && bcryptCost(of: "$1$12$abc") == nil && bcryptCost(of: "") == nil)
    }

    @Test func passwordPolicy() {
        #expect(PasswordPolicy.problem(with: "short", email: "a@b.co") == "Use at least 8 characters.")
        #expect(PasswordPolicy.problem(with: "Password1", email: "a@b.co")?.contains("leaked") == true)
        #expect(PasswordPolicy.problem(with: "aaaaaaaaaa", email: "a@b.co") != nil)
        #expect(PasswordPolicy.problem(with: "ada.lovelace-99", email: "ada.lovelace@example.com") != nil)
        #expect(PasswordPolicy.problem(with: String(repeating: "é", count: 40), email: "a@b.co")?.contains("72 bytes") == true)
        #expect(PasswordPolicy.problem(with: "violet-harbour-lantern", email: "a@b.co") == nil)
    }

    @Test func throttleBacksOffExponentiallyUpToAnHour() {
        let policy = LoginThrottlePolicy.standard
        #expect(policy.lock(afterFailures: 4) == 0)
        #expect(policy.lock(afterFailures: 5) == 60)
        #expect(policy.lock(afterFailures: 6) == 120)
        #expect(policy.lock(afterFailures: 8) == 480)
        #expect(policy.lock(afterFailures: 50) == 3600)
    }

    /// The same address signed up twice at once (a double click) makes one account, and both
    /// requests answer as a sign-up does.
    @Test func aDoubleSignUpMakesOneAccount() async throws {
        try await withPictor { app in
            let statuses = try await withThrowingTaskGroup(of: HTTPStatus.self) { group in
                for _ in 0..<2 { group.addTask { try await Accounts.signUp(Browser(app), email: "double@example.com").status } }
                return try await group.reduce(into: [HTTPStatus]()) { $0.append($1) }
            }
            #expect(statuses == [.seeOther, .seeOther])
            #expect(try await UserModel.query(on: app.db).filter(\.$email == "double@example.com").count() == 1)
        }
    }

    /// Each sign-up mails a stranger's address a code: one network may create only so many
    /// accounts an hour, and the one past the limit is told so, with nothing stored or sent.
    @Test func oneNetworkCreatesOnlySoManyAccountsAnHour() async throws {
        try await withPictor({ $0.signUpsPerNetworkPerHour = 2 }) { app in
            for n in 0..<2 { #expect(try await Accounts.signUp(Browser(app), email: "n\(n)@example.com").status == .seeOther) }
            let refused = try await Accounts.signUp(Browser(app), email: "n2@example.com")
            #expect(refused.status == .tooManyRequests && refused.body.string.contains("Too many accounts were created from your network"))
            #expect(try await UserModel.query(on: app.db).count() == 2)
            #expect(try await Accounts.mails(to: "n2@example.com", app: app).isEmpty)
            // The hour is counted from the first sign-up, and refusals do not extend it.
            let key = try #require(try await LoginThrottleModel.query(on: app.db).filter(\.$id ~~ "signup:").first())
            #expect(key.failures == 2)
            try await sqlDatabase(app.db).raw(
                "UPDATE login_throttles SET locked_until = \(bind: Date().addingTimeInterval(-1)) WHERE key = \(bind: key.id!)"
            ).run()
            #expect(try await Accounts.signUp(Browser(app), email: "n3@example.com").status == .seeOther)
        }
    }

    /// The client's network comes from the connection unless Pictor is told it sits behind a
    /// proxy: a client's own `X-Forwarded-For` or `Forwarded` would let it pick a new network for
    /// each password guess (escaping the per-network limit) or lock another network out.
    @Test(arguments: [false, true])
    func theClientsAddressIsTheConnectionsUnlessBehindATrustedProxy(_ behindProxy: Bool) async throws {
        try await withPictor({ $0.trustProxy = behindProxy }) { app in
            let request = Request(
                application: app, method: .POST, url: "/login",
                headers: ["X-Forwarded-For": "198.51.100.7, 192.0.2.1", "Forwarded": "for=203.0.113.9"],
                remoteAddress: try SocketAddress(ipAddress: "10.1.2.3", port: 40000), on: app.eventLoopGroup.next())
            #expect(request.clientAddress == (behindProxy ? "192.0.2.1" : "10.1.2.3"))
        }
    }

    @Test func ipAddressesAreTruncated() {
        #expect(IPPrefix.truncate("203.0.113.77") == "203.0.113.0/24")
        #expect(IPPrefix.truncate("2001:db8:85a3:8d3:1319:8a2e:370:7348") == "2001:db8:85a3::/48")
        #expect(IPPrefix.truncate("2001:db8::1") == "2001:db8:0::/48")
        #expect(IPPrefix.truncate("::ffff:203.0.113.7") == "203.0.113.0/24")  // IPv4 on a dual-stack listener
        #expect(IPPrefix.truncate("nonsense") == "unknown")
    }

    @Test func sessionsEndWhenIdleOrOld() {
        let policy = SessionPolicy.standard
        let start = Date(timeIntervalSince1970: 0)
        #expect(policy.isLive(createdAt: start, lastSeenAt: start, now: start.addingTimeInterval(23 * 3600)))
        #expect(!policy.isLive(createdAt: start, lastSeenAt: start, now: start.addingTimeInterval(25 * 3600)))
        let active = start.addingTimeInterval(31 * 24 * 3600)
        #expect(!policy.isLive(createdAt: start, lastSeenAt: active.addingTimeInterval(-60), now: active), "30 days is the most")
    }

    @Test func devicesAreSummarised() {
        #expect(
            DeviceSummary.describe(
                userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1")
                == "Safari on iOS")
        #expect(
            DeviceSummary.describe(userAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36 Edg/126.0")
                == "Edge on Windows")
        #expect(DeviceSummary.describe(userAgent: nil) == "Unknown device")
    }
}

@Suite struct LoginThrottleTests {
    @Test func failuresAgeOutAndSuccessDoesNotClearTheNetwork() async throws {
        try await withPictor { app in
            let keys = ["account:a", "network:203.0.113.0/24"]
            let t0 = Date()
            for _ in 0..<4 { try await Self.failedAttempt(keys, at: t0, app) }
            #expect(try await LoginThrottleModel.find("account:a", on: app.db)?.failures == 4)
            try await Self.failedAttempt(keys, at: t0.addingTimeInterval(3601), app)
            #expect(try await LoginThrottleModel.find("account:a", on: app.db)?.failures == 1, "an hour of quiet starts afresh")
            let attempt = try await Self.started(keys, at: t0.addingTimeInterval(3602), app)
            try await LoginThrottle.succeed(attempt, on: app.db)
            #expect(try await LoginThrottleModel.find("account:a", on: app.db) == nil)
            #expect(
                try await LoginThrottleModel.find("network:203.0.113.0/24", on: app.db)?.failures == 1,
                "the success was taken back, the failure stands")
        }
    }

    /// A lock ends: once it has run out, one attempt goes ahead (of several arriving together);
    /// if it is right, the account is free again; if not, the next lock is longer. Attempts
    /// refused meanwhile count for nothing.
    @Test func aLockRunsOutAndLetsOneAttemptThrough() async throws {
        try await withPictor { app in
            let keys = ["account:b", "network:198.51.100.0/24"]
            let t0 = Date()
            for _ in 0..<5 { try await Self.failedAttempt(keys, at: t0, app) }
            guard case .wait(let wait) = try await LoginThrottle.begin(keys: keys, policy: .standard, now: t0.addingTimeInterval(30), on: app.db)
            else {
                Issue.record("not locked after five failures")
                return
            }
            #expect((30...31).contains(wait), "\(wait)")
            #expect(try await LoginThrottleModel.find("account:b", on: app.db)?.failures == 5, "a refused attempt counts for nothing")

            // Past the lock: the first attempt goes ahead; another arriving with it waits.
            let later = t0.addingTimeInterval(61)
            let first = try await Self.started(keys, at: later, app)
            guard case .wait = try await LoginThrottle.begin(keys: keys, policy: .standard, now: later, on: app.db) else {
                Issue.record("two attempts went ahead after the lock ran out")
                return
            }
            _ = try await LoginThrottle.fail(first, policy: .standard, on: app.db)
            guard case .wait(let longer) = try await LoginThrottle.begin(keys: keys, policy: .standard, now: later.addingTimeInterval(61), on: app.db)
            else {
                Issue.record("the sixth failure set no longer lock")
                return
            }
            #expect((59...60).contains(longer), "two minutes from the sixth attempt, asked 61 s after it: \(longer)")

            // After that one too, the right password gets in and the account is free again.
            let right = try await Self.started(keys, at: later.addingTimeInterval(121), app)
            try await LoginThrottle.succeed(right, on: app.db)
            #expect(try await LoginThrottleModel.find("account:b", on: app.db) == nil)
            _ = try await Self.started(keys, at: later.addingTimeInterval(122), app)
        }
    }

    static func started(_ keys: [String], at time: Date, _ app: Application) async throws -> LoginThrottle.Attempt {
        guard case .go(let attempt) = try await LoginThrottle.begin(keys: keys, policy: .standard, now: time, on: app.db) else {
            throw ThrottledInTest()
        }
        return attempt
    }

    static func failedAttempt(_ keys: [String], at time: Date, _ app: Application) async throws {
        _ = try await LoginThrottle.fail(try await started(keys, at: time, app), policy: .standard, on: app.db)
    }

    struct ThrottledInTest: Error {}

    /// Guesses sent all at once are counted one by one: no more of them are answered as wrong than
    /// the lock allows when they come one after another (five), however many arrive together. The
    /// rest wait (429) or, once the account is paused, get the code page whatever the password:
    /// an answer that tells nothing.
    @Test func guessesSentTogetherAreCountedOneByOne() async throws {
        try await withPictor { app in
            _ = try await Accounts.signedIn(app, email: "target@example.com")
            let statuses = try await withThrowingTaskGroup(of: HTTPStatus.self) { group in
                for n in 0..<30 {
                    group.addTask {
                        let guesser = Browser(app)
                        try await guesser.get("/login")
                        return try await guesser.post("/login", ["email": "target@example.com", "password": "wrong-guess-\(n)-xyz"]).status
                    }
                }
                return try await group.reduce(into: [HTTPStatus]()) { $0.append($1) }
            }
            let checked = statuses.filter { $0 == .unauthorized }.count
            #expect(checked <= 5 && statuses.allSatisfy { [.unauthorized, .tooManyRequests, .seeOther].contains($0) }, "\(statuses)")
            #expect(try await SessionModel.query(on: app.db).count() == 1, "only the owner's own session from signing up")
        }
    }
}

@Suite struct ReviewFindingsTests {
    @Test func controlCharactersCannotSmuggleAnOffSiteRedirect() {
        #expect(SignInController.safeNext("/\t/evil.example") == nil)
        #expect(SignInController.safeNext("/\n/evil.example") == nil)
        #expect(SignInController.safeNext("/ok path") == nil)
    }

    @Test func absurdAuditPagingParametersAreIgnored() async throws {
        try await withPictor { app in
            let admin = try await AdminTests.makeAdmin(app, email: "nan@example.com")
            for value in ["nan", "inf", "1e300", "-1e300"] {
                #expect(try await admin.get("/admin/audit?before=\(value)").status == .ok)
            }
        }
    }

    @Test func codeGuessesAreCountedPerAccountAcrossNewCodes() async throws {
        try await withPictor { app in
            let browser = Browser(app)
            try await Accounts.signUp(browser, email: "guess@example.com")
            let user = try #require(try await UserModel.query(on: app.db).first())
            // Five wrong guesses lock code checks for the account, even with a fresh code.
            for _ in 0..<5 {
                _ = try await OneTimeCodes.redeem(.verifyEmail, code: "999999", for: user.id!, now: Date(), secrets: app.pictor.secrets, on: app.db)
            }
            let fresh = try await OneTimeCodes.issue(.verifyEmail, for: user.id!, now: Date(), secrets: app.pictor.secrets, on: app.db)
            #expect(
                try await OneTimeCodes.redeem(.verifyEmail, code: fresh, for: user.id!, now: Date(), secrets: app.pictor.secrets, on: app.db) == false
            )
            #expect(try await LoginThrottleModel.find("codes:verify_email:\(user.id!.uuidString)", on: app.db)?.lockedUntil != nil)
            // Guesses at one kind of code do not lock another: a stranger who asked for reset codes
            // and guessed at them cannot stop the owner's sign-in code during a pause.
            let signIn = try await OneTimeCodes.issue(.signIn, for: user.id!, now: Date(), secrets: app.pictor.secrets, on: app.db)
            #expect(try await OneTimeCodes.redeem(.signIn, code: signIn, for: user.id!, now: Date(), secrets: app.pictor.secrets, on: app.db))
        }
    }

    @Test func repeatedSignUpsForATakenAddressSendOneNoticeAnHour() async throws {
        try await withPictor { app in
            _ = try await Accounts.signedIn(app, email: "flood@example.com")
            for _ in 0..<3 { try await Accounts.signUp(Browser(app), email: "flood@example.com") }
            let notices = try await Accounts.mails(to: "flood@example.com", app: app)
                .filter { $0.subject == "Someone tried to sign up to Pictor with your email" }.count
            #expect(notices == 1)
        }
    }

    @Test func aPasswordResetRevokesAPIKeys() async throws {
        try await withPictor { app in
            let browser = try await Accounts.signedIn(app, email: "keyreset@example.com")
            try await browser.get("/account/api-keys")
            _ = try await browser.post("/account/api-keys", ["name": "k", "scope_account:read": "on"])
            try await browser.get("/forgot-password")
            try await browser.post("/forgot-password", ["email": "keyreset@example.com"])
            let code = try #require(try await Accounts.mailedCode(to: "keyreset@example.com", app: app))
            try await browser.get("/reset-password")
            try await browser.post("/reset-password", ["email": "keyreset@example.com", "code": code, "password": "new-harbour-compass"])
            #expect(try await APIKeyModel.query(on: app.db).filter(\.$revokedAt == nil).count() == 0)
        }
    }
}

/// The age screen's "today" is the person's own date (sent by the sign-up page's script) when it
/// is today somewhere on Earth; otherwise the earliest date on Earth, which is never more lenient.
@Suite struct AgeScreenTodayTests {
    static let now = Date(timeIntervalSince1970: 1_796_601_600)  // 2026-12-07 00:00 UTC

    @Test func theirOwnDateCountsWhenItIsTodaySomewhere() {
        #expect(AgeScreen.today(claimed: "2026-12-07", now: Self.now) == AgeScreen.Day(year: 2026, month: 12, day: 7))
        #expect(AgeScreen.today(claimed: "2026-12-06", now: Self.now) == AgeScreen.Day(year: 2026, month: 12, day: 6))  // UTC−12
        // Tomorrow nowhere, or not a date: the earliest date on Earth (UTC−12).
        #expect(AgeScreen.today(claimed: "2026-12-08", now: Self.now) == AgeScreen.Day(year: 2026, month: 12, day: 6))
        #expect(AgeScreen.today(claimed: "2030-01-01", now: Self.now) == AgeScreen.Day(year: 2026, month: 12, day: 6))
        #expect(AgeScreen.today(claimed: nil, now: Self.now) == AgeScreen.Day(year: 2026, month: 12, day: 6))
        // At 11:00 UTC it is already the 8th in UTC+14.
        #expect(AgeScreen.today(claimed: "2026-12-08", now: Self.now.addingTimeInterval(11 * 3600)) == AgeScreen.Day(year: 2026, month: 12, day: 8))
    }

    /// Someone whose 13th birthday is today where they are (Auckland, already the 8th) gets in;
    /// without the page's date the screen waits for the birthday everywhere.
    @Test func aThirteenthBirthdayCountsWhereThePersonIs() async throws {
        try await withPictor { app in
            let lateEvening = Date(timeIntervalSince1970: 1_796_601_600 + 11 * 3600)  // 2026-12-07 11:00 UTC
            let birthday = "2013-12-08"
            #expect(
                AgeScreen.screen(birth: try #require(AgeScreen.Day(iso: birthday)), today: AgeScreen.today(claimed: "2026-12-08", now: lateEvening))
                    == .oldEnough)
            #expect(
                AgeScreen.screen(birth: try #require(AgeScreen.Day(iso: birthday)), today: AgeScreen.today(claimed: nil, now: lateEvening))
                    == .tooYoung)
            // The page carries the field its script fills.
            let page = try await Browser(app).get("/signup")
            #expect(page.text.contains(#"name="today" id="today""#) && page.text.contains("/js/signup.js"))
        }
    }
}

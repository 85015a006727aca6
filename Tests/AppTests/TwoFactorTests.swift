import Domain
import Fluent
import Foundation
import Persistence
import SQLKit
import Testing
import Vapor

@testable import App

@Suite struct TOTPTests {
    /// RFC 6238 appendix B, SHA-1, eight digits.
    @Test(arguments: [
        (59.0, "94287082"), (1_111_111_109, "07081804"), (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"), (2_000_000_000, "69279037"), (20_000_000_000, "65353130"),
    ])
    func rfc6238Vectors(_ time: Double, _ expected: String) {
        let totp = TOTP(secret: Data("12345678901234567890".utf8), digits: 8)
        #expect(totp.code(forStep: totp.step(at: Date(timeIntervalSince1970: time))) == expected)
    }

    @Test func codesAreAcceptedOneStepEitherSideAndNeverTwice() {
        let totp = TOTP(secret: Data("12345678901234567890".utf8))
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let step = totp.step(at: now)
        #expect(totp.matchingStep(for: totp.code(forStep: step), at: now, lastUsedStep: nil) == step)
        #expect(totp.matchingStep(for: totp.code(forStep: step - 1), at: now, lastUsedStep: nil) == step - 1)
        #expect(totp.matchingStep(for: totp.code(forStep: step - 2), at: now, lastUsedStep: nil) == nil)
        #expect(totp.matchingStep(for: totp.code(forStep: step), at: now, lastUsedStep: step) == nil, "replay")
        #expect(totp.matchingStep(for: "12345", at: now, lastUsedStep: nil) == nil)
    }

    @Test func base32AndProvisioningURI() {
        #expect(Base32.encode(Data("foobar".utf8)) == "MZXW6YTBOI")
        let uri = TOTP(secret: Data("foobar".utf8)).provisioningURI(account: "ada@example.com")
        #expect(uri == "otpauth://totp/Pictor:ada@example.com?secret=MZXW6YTBOI&issuer=Pictor&algorithm=SHA1&digits=6&period=30")
    }
}

@Suite struct TwoFactorFlowTests {
    func currentCode(_ app: Application, email: String, offsetSteps: Int64 = 0) async throws -> String {
        let user = try #require(try await UserModel.query(on: app.db).filter(\.$email == email).first())
        let totp = try #require(try TwoFactor.totp(for: user, secrets: app.pictor.secrets))
        return totp.code(forStep: totp.step(at: Date()) + offsetSteps)
    }

    /// Turns two-factor on through the pages; returns the recovery codes shown.
    func enable(_ browser: Browser, _ app: Application, email: String) async throws -> [String] {
        try await browser.get("/account/security")
        let setup = try await browser.post("/account/two-factor/setup")
        #expect(setup.status == .ok && setup.text.contains("otpauth://totp/Pictor:"))
        let user = try #require(try await UserModel.query(on: app.db).filter(\.$email == email).first())
        #expect(user.totpSecret != nil && user.totpEnabledAt == nil, "pending until confirmed")
        #expect(
            !(user.totpSecret ?? "").contains(Base32.encode(try #require(try TwoFactor.totp(for: user, secrets: app.pictor.secrets)).secret)),
            "the seed is stored sealed")
        let wrong = try await browser.post("/account/two-factor/confirm", ["code": "000000"])
        #expect(wrong.status == .unprocessableEntity)
        let shown = try await browser.post("/account/two-factor/confirm", ["code": try await currentCode(app, email: email)])
        let codes = shown.text.matches(of: /<li><code>([A-Z0-9]{5}-[A-Z0-9]{5})<\/code><\/li>/).map { String($0.1) }
        #expect(codes.count == 10)
        return codes
    }

    func signInWithPassword(_ app: Application, email: String) async throws -> Browser {
        let browser = Browser(app)
        try await browser.get("/login")
        let response = try await browser.post("/login", ["email": email, "password": Accounts.password])
        #expect(response.location == "/login/two-factor")
        #expect(browser.cookies[app.pictor.cookies.sessionName] == nil, "no session before the second factor")
        try await browser.get("/login/two-factor")
        return browser
    }

    @Test func signInNeedsTheSecondFactorAndCodesWorkOnce() async throws {
        try await withPictor { app in
            let email = "mfa@example.com"
            let setupBrowser = try await Accounts.signedIn(app, email: email)
            let recovery = try await enable(setupBrowser, app, email: email)

            let phone = try await signInWithPassword(app, email: email)
            #expect(try await phone.get("/account").status == .seeOther, "not signed in yet")
            let bad = try await phone.post("/login/two-factor", ["code": "123456"])
            #expect(bad.status == .unauthorized, "\(bad.status) \(bad.location ?? "") \(bad.text.prefix(300))")
            // The enrolment used this step's code; the next step's is new (and within the ±1 window).
            let code = try await currentCode(app, email: email, offsetSteps: 1)
            #expect(try await phone.post("/login/two-factor", ["code": code]).location == "/account")
            #expect(try await phone.get("/account").status == .ok)

            let replay = try await signInWithPassword(app, email: email)
            #expect(try await replay.post("/login/two-factor", ["code": code]).status == .unauthorized, "a code works once")
            #expect(try await replay.post("/login/two-factor", ["code": recovery[0].lowercased()]).location == "/account")

            let again = try await signInWithPassword(app, email: email)
            #expect(try await again.post("/login/two-factor", ["code": recovery[0]]).status == .unauthorized, "recovery codes work once")
            let actions = try await AuditEventModel.query(on: app.db).all().map(\.action)
            #expect(actions.contains("two_factor.enabled") && actions.contains("login.two_factor_failed"))
        }
    }

    @Test func aForgedOrExpiredPendingSignInIsRefused() async throws {
        try await withPictor { app in
            let email = "pending@example.com"
            _ = try await enable(try await Accounts.signedIn(app, email: email), app, email: email)
            let user = try #require(try await UserModel.query(on: app.db).filter(\.$email == email).first())
            let mallory = Browser(app)
            try await mallory.get("/login")
            let other = PendingSignIn.cookieValue(
                userID: user.id!, remember: false, next: "", nonce: "n", secrets: Secrets(key: .init(size: .bits256)), now: Date())
            mallory.setCookie(app.pictor.cookies.pendingSignInName, other)
            #expect(try await mallory.get("/login/two-factor").location == "/login")
            let old = PendingSignIn.cookieValue(
                userID: user.id!, remember: false, next: "", nonce: "n", secrets: app.pictor.secrets, now: Date().addingTimeInterval(-301))
            #expect(PendingSignIn.read(old, secrets: app.pictor.secrets, now: Date()) == nil)
        }
    }

    /// The cookie between password and second factor works once: kept after a successful sign-in
    /// (or copied), it no longer reaches the second-factor step, even with another good code.
    @Test func aPendingSignInWorksOnce() async throws {
        try await withPictor { app in
            let email = "pending-once@example.com"
            let recovery = try await enable(try await Accounts.signedIn(app, email: email), app, email: email)
            let browser = try await signInWithPassword(app, email: email)
            let pending = try #require(browser.cookies[app.pictor.cookies.pendingSignInName])
            #expect(try await browser.post("/login/two-factor", ["code": recovery[0]]).location == "/account")
            #expect(browser.cookies[app.pictor.cookies.pendingSignInName] == nil, "the browser is told to drop it")

            let copy = Browser(app)
            try await copy.get("/login")
            copy.setCookie(app.pictor.cookies.pendingSignInName, pending)
            try await copy.get("/login/two-factor")
            let reused = try await copy.post("/login/two-factor", ["code": recovery[1]])
            #expect(reused.status == .unauthorized && copy.cookies[app.pictor.cookies.sessionName] == nil)
            // The recovery code was not spent by the refused attempt.
            let fresh = try await signInWithPassword(app, email: email)
            #expect(try await fresh.post("/login/two-factor", ["code": recovery[1]]).location == "/account")
        }
    }

    /// With two-factor on, the second factor is the proof during a pause: no code is mailed.
    @Test func duringALockTheSecondFactorLetsTheOwnerIn() async throws {
        try await withPictor { app in
            let email = "paused-mfa@example.com"
            _ = try await enable(try await Accounts.signedIn(app, email: email), app, email: email)
            _ = try await Accounts.pauseSignIn(app, email: email)
            let owner = Browser(app)
            try await owner.get("/login")
            #expect(try await owner.post("/login", ["email": email, "password": Accounts.password]).location == "/login/two-factor")
            try await Accounts.issueRequestedResetCodes(app)
            #expect(try await Accounts.mails(to: email, app: app).allSatisfy { !$0.subject.contains("sign-in code") })
            try await owner.get("/login/two-factor")
            let code = try await currentCode(app, email: email, offsetSteps: 1)
            #expect(try await owner.post("/login/two-factor", ["code": code]).location == "/account")
        }
    }

    /// Turning two-factor on signs out every other device: whoever was in with the password
    /// alone must now pass the second factor too.
    @Test func turningTwoFactorOnEndsTheOtherSessions() async throws {
        try await withPictor { app in
            let email = "ends-others@example.com"
            let laptop = try await Accounts.signedIn(app, email: email)
            let phone = Browser(app)
            try await phone.get("/login")
            try await phone.post("/login", ["email": email, "password": Accounts.password])
            #expect(try await phone.get("/account").status == .ok)
            _ = try await enable(laptop, app, email: email)
            #expect(try await phone.get("/account").status == .seeOther, "the other device is signed out")
            #expect(try await laptop.get("/account").status == .ok, "the device that turned it on stays in")
            let entry = try #require(try await AuditEventModel.query(on: app.db).filter(\.$action == "two_factor.enabled").first())
            #expect(entry.detail.contains(#""sessions_ended":"1""#))
        }
    }

    /// A recovery code sent twice at once (two tabs, a replayed request) works once.
    @Test func aRecoveryCodeWorksOnceEvenWhenSentTwiceAtOnce() async throws {
        try await withPictor { app in
            _ = try await Accounts.signedIn(app, email: "twice@example.com")
            let user = try #require(try await UserModel.query(on: app.db).first()?.id)
            let code = try #require(try await TwoFactor.replaceRecoveryCodes(for: user, now: Date(), secrets: app.pictor.secrets, on: app.db).first)
            let accepted = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<10 {
                    group.addTask { try await TwoFactor.redeemRecoveryCode(code, for: user, now: Date(), secrets: app.pictor.secrets, on: app.db) }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(accepted == 1)
        }
    }

    /// Two-factor is turned off only together with the notice that tells its owner (and the
    /// audit entry): when the notice cannot be queued, nothing changes.
    @Test func twoFactorIsNotTurnedOffWithoutItsNotice() async throws {
        try await withPictor { app in
            let email = "noticed@example.com"
            let browser = try await Accounts.signedIn(app, email: email)
            _ = try await enable(browser, app, email: email)
            try await refuse("INSERT", on: "jobs", in: app.db)
            try await browser.get("/account/security")
            #expect(try await browser.post("/account/two-factor/disable").status == .internalServerError)
            let user = try #require(try await UserModel.query(on: app.db).filter(\.$email == email).first())
            #expect(user.totpEnabledAt != nil, "turned off without telling its owner")
            let notices = try await Accounts.mails(to: email, app: app).filter { $0.text.contains("turned off") }.count
            #expect(notices == 0, "an outbox message without its job would never be sent")
            #expect(try await AuditEventModel.query(on: app.db).filter(\.$action == "two_factor.disabled").count() == 0)
        }
    }

    @Test func securityChangesNeedARecentPassword() async throws {
        try await withPictor { app in
            let email = "reauth@example.com"
            let laptop = try await Accounts.signedIn(app, email: email)
            let phone = Browser(app)
            try await phone.get("/login")
            try await phone.post("/login", ["email": email, "password": Accounts.password])
            // Eleven minutes later:
            try await SessionModel.query(on: app.db).set(\.$authenticatedAt, to: Date().addingTimeInterval(-660)).update()
            let gate = try await laptop.get("/account/password")
            #expect(gate.location == "/account/confirm-password?next=%2Faccount%2Fpassword")
            try await laptop.get("/account/security")
            #expect(try await laptop.post("/account/two-factor/setup").location?.hasPrefix("/account/confirm-password") == true)

            try await laptop.get("/account/confirm-password?next=/account/password")
            #expect(
                try await laptop.post("/account/confirm-password", ["password": "wrong-wrong-wrong", "next": "/account/password"]).status
                    == .unauthorized)
            let confirmed = try await laptop.post("/account/confirm-password", ["password": Accounts.password, "next": "/account/password"])
            #expect(confirmed.location == "/account/password")
            try await laptop.get("/account/password")
            let changed = try await laptop.post("/account/password", ["password": "quiet-meadow-compass"])
            #expect(changed.location == "/account/security?done=password")
            #expect(try await phone.get("/account").status == .seeOther, "other devices are signed out")
            #expect(try await laptop.get("/account").status == .ok, "this one stays")
            let mails = try await Accounts.mails(to: email, app: app).filter { $0.subject == "Your Pictor password was changed" }.count
            #expect(mails == 1)
        }
    }
}

@Suite struct EmailChangeTests {
    @Test func newAddressIsConfirmedByCodeAndTheOldOneIsTold() async throws {
        try await withPictor { app in
            let browser = try await Accounts.signedIn(app, email: "old@example.com")
            // A reset code mailed to the old address before the change (whoever reads that mailbox).
            let other = Browser(app)
            try await other.get("/forgot-password")
            try await other.post("/forgot-password", ["email": "old@example.com"])
            let resetCode = try #require(try await Accounts.mailedCode(to: "old@example.com", app: app))
            try await browser.get("/account/email")
            let sent = try await browser.post("/account/email", ["email": "New@Example.com"])
            #expect(sent.status == .ok && sent.text.contains("we have sent a six-digit code"))
            let code = try #require(try await Accounts.mailedCode(to: "new@example.com", app: app))
            #expect(try await browser.post("/account/email/confirm", ["code": "000000" == code ? "111111" : "000000"]).status == .unprocessableEntity)
            #expect(try await browser.post("/account/email/confirm", ["code": String(code)]).location == "/account?done=email")
            let user = try #require(try await UserModel.query(on: app.db).first())
            #expect(user.email == "new@example.com")
            let told = try await Accounts.mails(to: "old@example.com", app: app).filter { $0.subject == "Your Pictor email address was changed" }
                .count
            #expect(told == 1)
            // …no longer resets the password, the new address being named in that notice.
            try await other.get("/reset-password")
            let reset = try await other.post(
                "/reset-password", ["email": "new@example.com", "code": resetCode, "password": "a-brand-new-passphrase"])
            #expect(reset.status == .unprocessableEntity)
        }
    }

    @Test func aTakenAddressLooksTheSameAndChangesNothing() async throws {
        try await withPictor { app in
            _ = try await Accounts.signedIn(app, email: "taken2@example.com")
            let browser = try await Accounts.signedIn(app, email: "mine@example.com")
            try await browser.get("/account/email")
            let response = try await browser.post("/account/email", ["email": "taken2@example.com"])
            #expect(response.status == .ok && response.text.contains("we have sent a six-digit code"))
            #expect(try await UserModel.query(on: app.db).filter(\.$email == "mine@example.com").count() == 1)
            // The one-a-minute limit applies as after a real code: whether a code reaches the next
            // address does not tell whether the first one was taken.
            let next = try await browser.post("/account/email", ["email": "mine2@example.com"])
            #expect(next.status == .ok && next.text.contains("we have sent a six-digit code"))
            #expect(try await Accounts.mails(to: "mine2@example.com", app: app).isEmpty)
            // Nor can the code that was not sent change anything.
            #expect(try await UserModel.query(on: app.db).filter(\.$email == "mine@example.com").count() == 1)
        }
    }

    @Test func changingEmailNeedsARecentPassword() async throws {
        try await withPictor { app in
            let browser = try await Accounts.signedIn(app, email: "stale@example.com")
            try await SessionModel.query(on: app.db).set(\.$authenticatedAt, to: Date().addingTimeInterval(-601)).update()
            #expect(try await browser.get("/account/email").location == "/account/confirm-password?next=%2Faccount%2Femail")
        }
    }
}

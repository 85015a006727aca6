import Domain
import Fluent
import Persistence
import Vapor

/// Password, two-factor and re-authentication. Every change here needs the password
/// (and second factor) entered within the last 10 minutes in this session.
enum SecurityController {
    @Sendable static func overview(req: Request) async throws -> View {
        let current = try req.requireUser()
        let user = try await req.userRecord(current)
        let left = try await RecoveryCodeStore.unusedCount(of: current.id, on: req.db)
        var page = SecurityPage(
            layout: .make(for: req, title: "Security"), csrf: req.csrfToken,
            twoFactorOn: user.totpEnabledAt != nil, recoveryCodesLeft: left)
        switch try? req.query.get(String.self, at: "done") {
        case "password": page.notice = "Your password was changed. Other devices were signed out."
        case "two-factor-off": page.notice = "Two-factor sign-in is off."
        default: break
        }
        return try await req.view.render("account/security", page)
    }

    // MARK: Re-authentication

    @Sendable static func confirmForm(req: Request) async throws -> View {
        let current = try req.requireUser()
        let user = try await req.userRecord(current)
        return try await req.view.render(
            "account/confirm-password",
            ConfirmPasswordPage(
                layout: .make(for: req, title: "Confirm it's you"), csrf: req.csrfToken,
                next: SignInController.safeNext(try? req.query.get(String.self, at: "next")) ?? SiteURL.accountSecurity.path,
                needsCode: user.totpEnabledAt != nil))
    }

    @Sendable static func confirm(req: Request) async throws -> Response {
        let current = try req.requireUser()
        let user = try await req.userRecord(current)
        let password = (try? req.content.get(String.self, at: "password")) ?? ""
        let code = (try? req.content.get(String.self, at: "code")) ?? ""
        let next = SignInController.safeNext(try? req.content.get(String.self, at: "next")) ?? SiteURL.accountSecurity.path
        var page = ConfirmPasswordPage(
            layout: .make(for: req, title: "Confirm it's you"), csrf: req.csrfToken, next: next, needsCode: user.totpEnabledAt != nil)
        // With two-factor on, the code counts against the same key as at sign-in: a password
        // sign-in (which clears the account's count) must not open a way to unlimited code guesses.
        let keys =
            LoginThrottle.keys(email: user.email, request: req)
            + (user.totpEnabledAt == nil ? [] : [LoginThrottle.mfaKey(userID: user.id!, request: req)])
        let attempt: LoginThrottle.Attempt
        switch try await LoginThrottle.begin(keys: keys, policy: req.pictor.loginThrottle, now: req.pictor.clock.now(), on: req.db) {
        case .go(let started):
            attempt = started
        case .wait(let wait):
            page.error = AccountError.throttled(retryAfterSeconds: wait).userMessage
            return try await req.view.render("account/confirm-password", page).encodeResponse(status: .tooManyRequests, for: req)
        }
        var ok = try await req.password.async.verify(password, created: user.passwordHash)
        if ok, user.totpEnabledAt != nil {
            ok = try await TwoFactor.verify(code, for: user, now: req.pictor.clock.now(), secrets: req.pictor.secrets, on: req.db)
        }
        guard ok else {
            _ = try await LoginThrottle.fail(attempt, policy: req.pictor.loginThrottle, on: req.db)
            try await Audit.record("reauthentication.failed", actor: user.id, request: req, on: req.db)
            page.error = user.totpEnabledAt == nil ? "That password is not right." : "That password or code is not right."
            return try await req.view.render("account/confirm-password", page).encodeResponse(status: .unauthorized, for: req)
        }
        try await LoginThrottle.succeed(attempt, on: req.db)
        guard let session = try await SessionStore.find(current.sessionID, on: req.db) else { throw AccessError.notFound }
        session.authenticatedAt = req.pictor.clock.now()
        try await SessionStore.save(session, on: req.db)
        try await Audit.record("reauthenticated", actor: user.id, request: req, on: req.db)
        return req.redirect(to: next)
    }

    /// nil when the password was entered recently enough; otherwise where to send the person first.
    static func reauthentication(_ req: Request, returnTo: SiteURL) throws -> Response? {
        let current = try req.requireUser()
        guard !req.pictor.sessions.recentlyAuthenticated(at: current.authenticatedAt, now: req.pictor.clock.now()) else { return nil }
        return req.redirect(to: SiteURL.accountConfirmPassword.path + "?next=" + returnTo.path.queryEscaped)
    }

    // MARK: Password

    @Sendable static func passwordForm(req: Request) async throws -> Response {
        if let redirect = try reauthentication(req, returnTo: .accountPassword) { return redirect }
        return try await req.view.render(
            "account/change-password",
            ChangePasswordPage(
                layout: .make(for: req, title: "Change password"), csrf: req.csrfToken)
        ).encodeResponse(for: req)
    }

    @Sendable static func changePassword(req: Request) async throws -> Response {
        if let redirect = try reauthentication(req, returnTo: .accountPassword) { return redirect }
        let current = try req.requireUser()
        let user = try await req.userRecord(current)
        let password = (try? req.content.get(String.self, at: "password")) ?? ""
        if let problem = PasswordPolicy.problem(with: password, email: user.email) {
            let page = ChangePasswordPage(layout: .make(for: req, title: "Change password"), csrf: req.csrfToken, passwordError: problem)
            return try await req.view.render("account/change-password", page).encodeResponse(status: .unprocessableEntity, for: req)
        }
        let hash = try await req.password.async.hash(password)
        let base = req.pictor.config.publicBaseURL.absoluteString
        let now = req.pictor.clock.now()
        try await req.db.transaction { tx in
            user.passwordHash = hash
            user.updatedAt = now
            try await UserStore.save(user, on: tx)
            let ended = try await SessionStore.revokeAll(of: user.id!, keeping: current.sessionID, now: now, on: tx)
            try await Audit.record("password.changed", actor: user.id, detail: ["sessions_ended": String(ended)], request: req, on: tx)
            try await Postman.queue(AccountMail.passwordChanged(to: user.email, base: base), userID: user.id, app: req.application, on: tx)
        }
        return req.redirect(to: SiteURL.accountSecurity.path + "?done=password")
    }

    // MARK: Two-factor

    @Sendable static func beginTwoFactor(req: Request) async throws -> Response {
        if let redirect = try reauthentication(req, returnTo: .accountSecurity) { return redirect }
        let current = try req.requireUser()
        let user = try await req.userRecord(current)
        guard user.totpEnabledAt == nil else { return req.redirect(to: SiteURL.accountSecurity.path) }
        let totp = try await TwoFactor.beginEnrolment(user, now: req.pictor.clock.now(), secrets: req.pictor.secrets, on: req.db)
        return try await setupPage(totp, email: user.email, error: nil, req: req)
    }

    @Sendable static func confirmTwoFactor(req: Request) async throws -> Response {
        if let redirect = try reauthentication(req, returnTo: .accountSecurity) { return redirect }
        let current = try req.requireUser()
        let user = try await req.userRecord(current)
        let code = (try? req.content.get(String.self, at: "code")) ?? ""
        guard let totp = try TwoFactor.totp(for: user, secrets: req.pictor.secrets) else {
            return req.redirect(to: SiteURL.accountSecurity.path)
        }
        // The change, its audit entry and the notice to the owner commit together or not at all.
        let now = req.pictor.clock.now()
        let enrolled = try await writeTransaction(on: req.db) { tx -> [String]? in
            guard let codes = try await TwoFactor.confirmEnrolment(user, code: code, now: now, secrets: req.pictor.secrets, on: tx) else {
                return nil
            }
            // Whoever was signed in elsewhere with the password alone (perhaps who made the owner
            // turn this on) must now pass the second factor too.
            let ended = try await SessionStore.revokeAll(of: user.id!, keeping: current.sessionID, now: now, on: tx)
            try await Audit.record("two_factor.enabled", actor: user.id, detail: ["sessions_ended": String(ended)], request: req, on: tx)
            try await Postman.queue(
                AccountMail.securityChange(to: user.email, change: "Two-factor sign-in was turned on."), userID: user.id, app: req.application, on: tx
            )
            return codes
        }
        guard let codes = enrolled else {
            return try await setupPage(
                totp, email: user.email, error: "That code is not right. Check the time on your device and try the next code.", req: req,
                status: .unprocessableEntity)
        }
        return try await req.view.render(
            "account/recovery-codes",
            RecoveryCodesPage(
                layout: .make(for: req, title: "Recovery codes"), codes: codes)
        ).encodeResponse(for: req)
    }

    @Sendable static func disableTwoFactor(req: Request) async throws -> Response {
        if let redirect = try reauthentication(req, returnTo: .accountSecurity) { return redirect }
        let current = try req.requireUser()
        let user = try await req.userRecord(current)
        // Turned off only with its notice queued: the owner hears of it if it was not them.
        try await writeTransaction(on: req.db) { tx in
            try await TwoFactor.disable(user, now: req.pictor.clock.now(), on: tx)
            try await Audit.record("two_factor.disabled", actor: user.id, request: req, on: tx)
            try await Postman.queue(
                AccountMail.securityChange(to: user.email, change: "Two-factor sign-in was turned off."), userID: user.id, app: req.application,
                on: tx)
        }
        return req.redirect(to: SiteURL.accountSecurity.path + "?done=two-factor-off")
    }

    @Sendable static func newRecoveryCodes(req: Request) async throws -> Response {
        if let redirect = try reauthentication(req, returnTo: .accountSecurity) { return redirect }
        let current = try req.requireUser()
        let user = try await req.userRecord(current)
        guard user.totpEnabledAt != nil else { return req.redirect(to: SiteURL.accountSecurity.path) }
        let codes = try await TwoFactor.replaceRecoveryCodes(for: user.id!, now: req.pictor.clock.now(), secrets: req.pictor.secrets, on: req.db)
        try await Audit.record("two_factor.recovery_codes_replaced", actor: user.id, request: req, on: req.db)
        return try await req.view.render(
            "account/recovery-codes",
            RecoveryCodesPage(
                layout: .make(for: req, title: "Recovery codes"), codes: codes)
        ).encodeResponse(for: req)
    }

    private static func setupPage(_ totp: TOTP, email: String, error: String?, req: Request, status: HTTPStatus = .ok) async throws -> Response {
        let secret = Base32.encode(totp.secret)
        let grouped = stride(from: 0, to: secret.count, by: 4).map { start -> String in
            let from = secret.index(secret.startIndex, offsetBy: start)
            return String(secret[from..<(secret.index(from, offsetBy: 4, limitedBy: secret.endIndex) ?? secret.endIndex)])
        }.joined(separator: " ")
        return try await req.view.render(
            "account/two-factor-setup",
            TwoFactorSetupPage(
                layout: .make(for: req, title: "Set up two-factor sign-in"), csrf: req.csrfToken, secret: grouped,
                uri: totp.provisioningURI(account: email), error: error)
        ).encodeResponse(status: status, for: req)
    }
}

import Domain
import Fluent
import Persistence
import Vapor

/// Sign-in with throttling, and sign-out.
enum SignInController {
    @Sendable static func form(req: Request) async throws -> View {
        var page = SignInPage(layout: .make(for: req, title: "Sign in"), csrf: req.csrfToken)
        page.next = safeNext(try? req.query.get(String.self, at: "next")) ?? ""
        if (try? req.query.get(String.self, at: "confirmed")) == "1" { page.notice = "Your email is confirmed. Sign in to start." }
        if (try? req.query.get(String.self, at: "reset")) == "1" { page.notice = "Your password was changed. Sign in with the new one." }
        return try await req.view.render("account/login", page)
    }

    @Sendable static func submit(req: Request) async throws -> Response {
        let form = try req.content.decode(SignInForm.self)
        let email = EmailAddress.normalize(form.email ?? "") ?? (form.email ?? "").lowercased()
        let keys = LoginThrottle.keys(email: email, request: req)
        let now = req.pictor.clock.now()
        var page = SignInPage(layout: .make(for: req, title: "Sign in"), csrf: req.csrfToken, email: form.email ?? "")
        page.next = safeNext(form.next) ?? ""

        let attempt: LoginThrottle.Attempt
        switch try await LoginThrottle.begin(keys: keys, policy: req.pictor.loginThrottle, now: now, on: req.db) {
        case .go(let started):
            attempt = started
        case .wait(let wait):
            // Only this account is paused, not the network: its owner still gets in, with the
            // password and a second proof (a mailed code, or their second factor), so a lock set
            // by someone guessing never locks the owner out.
            if case .go(let networkAttempt) = try await LoginThrottle.begin(
                keys: [LoginThrottle.networkKey(req)], policy: req.pictor.loginThrottle, now: now, on: req.db)
            {
                return try await pausedSignIn(email: email, form: form, next: page.next, attempt: networkAttempt, req: req)
            }
            try await Audit.record("login.throttled", actor: nil, detail: ["seconds": String(wait)], request: req, on: req.db)
            page.error = AccountError.throttled(retryAfterSeconds: wait).userMessage
            let response = try await req.view.render("account/login", page).encodeResponse(status: .tooManyRequests, for: req)
            response.headers.replaceOrAdd(name: .retryAfter, value: String(wait))
            return response
        }

        let user = try await UserStore.find(email: email, on: req.db)
        let passwordMatches = try await req.password.async.verify(form.password ?? "", created: user?.passwordHash ?? req.pictor.passwordDecoy)
        guard let user, passwordMatches else {
            let locked = try await LoginThrottle.fail(attempt, policy: req.pictor.loginThrottle, on: req.db)
            try await Audit.record(
                locked ? "login.locked" : "login.failed", actor: user?.id,
                target: user.map { ("user", $0.id!.uuidString) }, request: req, on: req.db)
            page.error = AccountError.wrongCredentials.userMessage
            return try await req.view.render("account/login", page).encodeResponse(status: .unauthorized, for: req)
        }
        try await LoginThrottle.succeed(attempt, on: req.db)  // the password was right
        guard user.status == .active else {
            page.error = AccountError.suspended.userMessage
            return try await req.view.render("account/login", page).encodeResponse(status: .forbidden, for: req)
        }
        guard user.emailVerifiedAt != nil else {
            page.error = AccountError.emailNotVerified.userMessage
            page.unverified = true
            return try await req.view.render("account/login", page).encodeResponse(status: .forbidden, for: req)
        }

        try await rehashIfTheCostChanged(user, password: form.password ?? "", req: req)
        let remember = form.remember == "on"
        if user.totpEnabledAt != nil {
            // The password was right; the session starts only after the second factor.
            let response = req.redirect(to: SiteURL.signInTwoFactor.path)
            let pending = try await PendingSignIn.start(
                for: user.id!, remember: remember, next: page.next, now: req.pictor.clock.now(), secrets: req.pictor.secrets, on: req.db)
            response.cookies[req.pictor.cookies.pendingSignInName] = req.pictor.cookies.cookie(pending, maxAge: Int(PendingSignIn.lifetime))
            return response
        }
        return try await startSession(for: user, remember: remember, next: page.next, req: req)
    }

    /// A hash made before `PASSWORD_HASH_COST` changed is made again at the new cost while the
    /// password is at hand. Until then, that account's sign-ins take another time than the decoy
    /// checked for unknown emails, which would tell which emails have accounts.
    private static func rehashIfTheCostChanged(_ user: UserModel, password: String, req: Request) async throws {
        guard bcryptCost(of: user.passwordHash) != req.pictor.config.passwordHashCost else { return }
        user.passwordHash = try await req.password.async.hash(password)
        try await UserStore.save(user, on: req.db)
    }

    /// Signs in: a new session, its cookie, the audit entry, and the redirect.
    static func startSession(for user: UserModel, remember: Bool, next: String, req: Request) async throws -> Response {
        let (token, session) = try await Sessions.start(userID: user.id!, remember: remember, request: req, on: req.db)
        try await Audit.record("login.succeeded", actor: user.id, target: ("session", session.id!.uuidString), request: req, on: req.db)
        let response = req.redirect(to: next.isEmpty ? SiteURL.account.path : next)
        let cookies = req.pictor.cookies
        response.cookies[cookies.sessionName] = cookies.cookie(token, maxAge: remember ? Int(req.pictor.sessions.absolute) : nil)
        response.cookies[cookies.pendingSignInName] = cookies.expired()
        return response
    }

    /// A password sign-in while the account's sign-in is paused (its count of failures locked it)
    /// but the network's is not. Right or wrong, the same happens and the same answer comes back:
    /// one password check, one pending sign-in (a decoy when the password is wrong), one audit
    /// entry, one `account.sign_in_code` job (which mails a code only to the owner of an account
    /// without two-factor), and the code page. Only the code tells: the mailed one, or the second factor.
    static func pausedSignIn(email: String, form: SignInForm, next: String, attempt: LoginThrottle.Attempt, req: Request) async throws -> Response {
        let user = try await UserStore.find(email: email, on: req.db)
        let passwordMatches = try await req.password.async.verify(form.password ?? "", created: user?.passwordHash ?? req.pictor.passwordDecoy)
        let owner = passwordMatches && user?.status == .active && user?.emailVerifiedAt != nil ? user : nil
        // Counted against the network either way: a right password given back its count would
        // let the network's next refusal come one request later, which could be measured.
        _ = try await LoginThrottle.fail(attempt, policy: req.pictor.loginThrottle, on: req.db)
        let pending = try await PendingSignIn.start(
            for: user?.id ?? UUID(), live: owner != nil, remember: form.remember == "on", paused: true, next: next,
            now: req.pictor.clock.now(), secrets: req.pictor.secrets, on: req.db)
        try await req.db.transaction { tx in
            try await Audit.record(
                "login.while_paused", actor: user?.id, target: user.map { ("user", $0.id!.uuidString) },
                detail: ["password": owner == nil ? "wrong" : "right"], request: req, on: tx)
            try await req.application.enqueue(try MailedCodeHandler.job(.signIn, for: owner?.id), on: tx)
        }
        let response = req.redirect(to: SiteURL.signInTwoFactor.path)
        response.cookies[req.pictor.cookies.pendingSignInName] = req.pictor.cookies.cookie(pending, maxAge: Int(PendingSignIn.lifetime))
        return response
    }

    /// The code page for any pending sign-in whose cookie is genuine and current; a used or decoy
    /// one is shown the same page (its codes are simply never right).
    @Sendable static func twoFactorForm(req: Request) async throws -> Response {
        guard
            let pending = PendingSignIn.read(
                req.cookies[req.pictor.cookies.pendingSignInName]?.string, secrets: req.pictor.secrets, now: req.pictor.clock.now())
        else { return req.redirect(to: SiteURL.signIn.path) }
        return try await req.view.render(
            "account/two-factor",
            TwoFactorPage(
                layout: .make(for: req, title: "Two-factor sign-in"), csrf: req.csrfToken, paused: pending.paused)
        ).encodeResponse(for: req)
    }

    /// The second factor: an authenticator code (each usable once) or a recovery code.
    @Sendable static func twoFactorSubmit(req: Request) async throws -> Response {
        guard
            let pending = PendingSignIn.read(
                req.cookies[req.pictor.cookies.pendingSignInName]?.string, secrets: req.pictor.secrets, now: req.pictor.clock.now())
        else { return req.redirect(to: SiteURL.signIn.path) }
        let code = (try? req.content.get(String.self, at: "code")) ?? ""
        // A used, replaced or decoy pending sign-in is answered as a wrong code: nothing tells it
        // apart, not the keys counted either. While paused, codes count against this pending
        // sign-in and the network (against the person's second-factor key, someone without the
        // password could lock the owner's second step); otherwise against that key, as always.
        let user = try await UserStore.find(pending.userID, on: req.db)
        let owner = user.flatMap { $0.status == .active && PendingSignIn.isLive(pending, for: $0) ? $0 : nil }
        let keys = [
            pending.paused ? "pending:" + pending.nonceHash : LoginThrottle.mfaKey(userID: pending.userID, request: req),
            LoginThrottle.networkKey(req),
        ]
        var page = TwoFactorPage(layout: .make(for: req, title: "Two-factor sign-in"), csrf: req.csrfToken, paused: pending.paused)
        let attempt: LoginThrottle.Attempt
        switch try await LoginThrottle.begin(keys: keys, policy: req.pictor.loginThrottle, now: req.pictor.clock.now(), on: req.db) {
        case .go(let started):
            attempt = started
        case .wait(let wait):
            page.error = AccountError.throttled(retryAfterSeconds: wait).userMessage
            return try await req.view.render("account/two-factor", page).encodeResponse(status: .tooManyRequests, for: req)
        }
        var accepted = false
        if let owner, owner.totpEnabledAt != nil {
            accepted = try await TwoFactor.verify(code, for: owner, now: req.pictor.clock.now(), secrets: req.pictor.secrets, on: req.db)
        }
        if !accepted, pending.paused {
            // The same look-up for a decoy (an id with no code), so its answer takes as long.
            let redeemed = try await OneTimeCodes.redeem(
                .signIn, code: code, for: owner?.id ?? UUID(), now: req.pictor.clock.now(), secrets: req.pictor.secrets, on: req.db)
            accepted = redeemed && owner != nil
        }
        // Once: a second submission of the same cookie (sent at once, or replayed later) finds it used.
        guard accepted, let user = owner, try await PendingSignIn.claim(pending, on: req.db) else {
            let locked = try await LoginThrottle.fail(attempt, policy: req.pictor.loginThrottle, on: req.db)
            try await Audit.record(locked ? "login.two_factor_locked" : "login.two_factor_failed", actor: user?.id, request: req, on: req.db)
            page.error = "That code is not right, or it was used already."
            return try await req.view.render("account/two-factor", page).encodeResponse(status: .unauthorized, for: req)
        }
        try await LoginThrottle.succeed(attempt, on: req.db)
        if pending.paused {
            // The owner proved it twice over: the pause on the account ends.
            try await LoginThrottleStore.clear([LoginThrottle.accountKey(email: user.email, request: req)], on: req.db)
        }
        let response = try await startSession(for: user, remember: pending.remember, next: pending.next, req: req)
        response.cookies[req.pictor.cookies.pendingSignInName] = req.pictor.cookies.expired()
        return response
    }

    @Sendable static func logout(req: Request) async throws -> Response {
        if let user = req.currentUser {
            _ = try await SessionStore.revoke(user.sessionID, of: user.id, now: req.pictor.clock.now(), on: req.db)
            try await Audit.record("logout", actor: user.id, target: ("session", user.sessionID.uuidString), request: req, on: req.db)
        }
        let response = req.redirect(to: SiteURL.home.path)
        response.cookies[req.pictor.cookies.sessionName] = req.pictor.cookies.expired()
        return response
    }

    /// Only same-site paths: `/gallery`, never `//evil.example` or `https://…`.
    static func safeNext(_ next: String?) -> String? {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.contains("\\"), next.count < 512,
            // Browsers drop tabs and newlines from Location, so "/\t/evil" would become "//evil".
            next.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F })
        else { return nil }
        return next
    }
}

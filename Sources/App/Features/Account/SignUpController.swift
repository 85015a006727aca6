import Domain
import Fluent
import Persistence
import Vapor

/// Sign-up with the neutral age screen, and email confirmation.
enum SignUpController {
    @Sendable static func form(req: Request) async throws -> Response {
        if req.cookies[req.pictor.cookies.ageScreenName] != nil {
            return try await ageScreenRefusal(req)
        }
        return try await render(
            SignUpPage(
                layout: .make(for: req, title: "Create your account"), csrf: req.csrfToken,
                termsVersion: req.pictor.config.termsVersion, privacyVersion: req.pictor.config.privacyVersion), req)
    }

    @Sendable static func submit(req: Request) async throws -> Response {
        if req.cookies[req.pictor.cookies.ageScreenName] != nil {
            return try await ageScreenRefusal(req)
        }
        let form = try req.content.decode(SignUpForm.self)
        var page = SignUpPage(
            layout: .make(for: req, title: "Create your account"), csrf: req.csrfToken, email: form.email ?? "",
            termsVersion: req.pictor.config.termsVersion, privacyVersion: req.pictor.config.privacyVersion)
        let email = EmailAddress.normalize(form.email ?? "")
        if email == nil { page.emailError = "Enter an email address like name@example.com." }
        let password = form.password ?? ""
        if let email, let problem = PasswordPolicy.problem(with: password, email: email) { page.passwordError = problem }
        if email == nil, password.count < PasswordPolicy.minimumLength {
            page.passwordError = "Use at least \(PasswordPolicy.minimumLength) characters."
        }
        let birth = AgeScreen.Day(iso: form.birthDate ?? "")
        let outcome = birth.map { AgeScreen.screen(birth: $0, today: AgeScreen.today(claimed: form.today, now: req.pictor.clock.now())) }
        if outcome == nil || outcome == .implausible { page.birthDateError = "Enter your date of birth." }
        if form.acceptTerms != "on" { page.acceptTermsError = "Accept the Terms and the Privacy Policy to create an account." }

        if outcome == .tooYoung, page.emailError == nil, page.birthDateError == nil {
            // Nothing is stored but a cookie that stops a retry; the message says nothing about age.
            let response = try await ageScreenRefusal(req)
            response.cookies[req.pictor.cookies.ageScreenName] = req.pictor.cookies.cookie("1", maxAge: 365 * 24 * 3600)
            return response
        }
        guard let email, page.emailError == nil, page.passwordError == nil, page.birthDateError == nil,
            page.acceptTermsError == nil
        else { return try await render(page, req, status: .unprocessableEntity) }

        // Each sign-up mails a code to the address given: at most SIGNUPS_PER_NETWORK_PER_HOUR
        // from one network in an hour from its first (a fixed window), so a script cannot use
        // Pictor to mail a list of strangers (or burn its CPU on password hashes).
        let networkKey = "signup:" + req.ipPrefix
        let now = req.pictor.clock.now()
        let signUps = try await LoginThrottleStore.countInWindow(networkKey, window: 3600, now: now, on: req.db)
        guard signUps <= req.pictor.config.signUpsPerNetworkPerHour else {
            try await LoginThrottleStore.takeBackAttempt(networkKey, now: now, on: req.db)  // a refusal does not count
            page.formError = "Too many accounts were created from your network in the last hour. Try again later."
            return try await render(page, req, status: .tooManyRequests)
        }
        let hash = try await req.password.async.hash(password)
        let base = req.pictor.config.publicBaseURL.absoluteString
        do {
            try await create(email: email, hash: hash, base: base, req: req)
        } catch let error where (error as? any DatabaseError)?.isConstraintFailure == true {
            // The same address signed up twice at once (a double click): the other request made
            // the account; this one answers as any sign-up does.
        }
        return req.redirect(to: SiteURL.verifyEmail.path + "?sent=1&email=\(email.queryEscaped)")
    }

    /// Creates the account and mails its code, or tells the address's owner that someone tried.
    private static func create(email: String, hash: String, base: String, req: Request) async throws {
        try await req.db.transaction { tx in
            if let existing = try await UserStore.find(email: email, on: tx) {
                // Same response as a new sign-up: the owner of the address hears about it by mail,
                // at most once an hour, so the form cannot be used to flood them.
                let notice = AccountMail.alreadyRegistered(to: email, base: base)
                if try await !Postman.recentlyQueued(
                    to: email, subject: notice.subject, within: 3600, now: req.pictor.clock.now(), secrets: req.pictor.secrets, on: tx)
                {
                    try await Postman.queue(notice, userID: existing.id, app: req.application, on: tx)
                }
                return
            }
            let user = UserModel.new(email: email, passwordHash: hash, role: .user, now: req.pictor.clock.now(), config: req.pictor.config)
            try await UserStore.insert(user, on: tx)
            try await WelcomeCredits.grant(to: user.id!, config: req.pictor.config, now: req.pictor.clock.now(), on: tx)
            let code = try await OneTimeCodes.issue(.verifyEmail, for: user.id!, now: req.pictor.clock.now(), secrets: req.pictor.secrets, on: tx)
            try await Postman.queue(AccountMail.verifyEmail(to: email, code: code, base: base), userID: user.id, app: req.application, on: tx)
            try await Audit.record("account.created", actor: user.id, target: ("user", user.id!.uuidString), request: req, on: tx)
        }
    }

    @Sendable static func verifyForm(req: Request) async throws -> View {
        try await req.view.render(
            "account/verify-email",
            VerifyEmailPage(
                layout: .make(for: req, title: "Confirm your email"), csrf: req.csrfToken,
                email: (try? req.query.get(String.self, at: "email")) ?? "",
                sent: (try? req.query.get(String.self, at: "sent")) == "1"))
    }

    @Sendable static func verify(req: Request) async throws -> Response {
        let form = try req.content.decode(EmailCodeForm.self)
        let email = EmailAddress.normalize(form.email ?? "") ?? ""
        let confirmed = try await req.db.transaction { tx -> Bool in
            guard let user = try await UserStore.find(email: email, on: tx) else { return false }
            guard
                try await OneTimeCodes.redeem(
                    .verifyEmail, code: form.code ?? "", for: user.id!, now: req.pictor.clock.now(), secrets: req.pictor.secrets, on: tx)
            else { return false }
            user.emailVerifiedAt = user.emailVerifiedAt ?? req.pictor.clock.now()
            user.updatedAt = req.pictor.clock.now()
            try await UserStore.save(user, on: tx)
            try await Audit.record("email.verified", actor: user.id, target: ("user", user.id!.uuidString), request: req, on: tx)
            return true
        }
        guard confirmed else {
            let page = VerifyEmailPage(
                layout: .make(for: req, title: "Confirm your email"), csrf: req.csrfToken, email: form.email ?? "",
                sent: false, codeError: AccountError.codeInvalidOrExpired.userMessage)
            return try await req.view.render("account/verify-email", page).encodeResponse(status: .unprocessableEntity, for: req)
        }
        return req.redirect(to: SiteURL.signIn.path + "?confirmed=1")
    }

    /// Sends a new code to an unconfirmed account, at most once a minute; the answer is the same either way.
    @Sendable static func resend(req: Request) async throws -> Response {
        let form = try req.content.decode(EmailCodeForm.self)
        let email = EmailAddress.normalize(form.email ?? "") ?? ""
        try await req.db.transaction { tx in
            guard let user = try await UserStore.find(email: email, on: tx), user.emailVerifiedAt == nil
            else { return }
            guard try await !OneTimeCodes.issuedRecently(.verifyEmail, for: user.id!, now: req.pictor.clock.now(), on: tx) else { return }
            let code = try await OneTimeCodes.issue(.verifyEmail, for: user.id!, now: req.pictor.clock.now(), secrets: req.pictor.secrets, on: tx)
            let base = req.pictor.config.publicBaseURL.absoluteString
            try await Postman.queue(AccountMail.verifyEmail(to: email, code: code, base: base), userID: user.id, app: req.application, on: tx)
        }
        return req.redirect(to: SiteURL.verifyEmail.path + "?sent=1&email=\(email.queryEscaped)")
    }

    private static func ageScreenRefusal(_ req: Request) async throws -> Response {
        try await req.view.render(
            "account/notice",
            NoticePage(
                layout: .make(for: req, title: "Sign up"), heading: "We can't create an account",
                message: "Sorry, we are not able to create a Pictor account for you.")
        ).encodeResponse(for: req)
    }

    private static func render(_ page: SignUpPage, _ req: Request, status: HTTPStatus = .ok) async throws -> Response {
        try await req.view.render("account/signup", page).encodeResponse(status: status, for: req)
    }
}

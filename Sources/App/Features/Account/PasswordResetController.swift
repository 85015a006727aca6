import Domain
import Fluent
import Persistence
import Vapor

/// Forgotten passwords: a code by mail, then a new password; every session ends.
enum PasswordResetController {
    static let requestsPerNetworkPerHour = 30

    @Sendable static func form(req: Request) async throws -> View {
        try await req.view.render(
            "account/forgot-password",
            ForgotPasswordPage(
                layout: .make(for: req, title: "Reset your password"), csrf: req.csrfToken))
    }

    /// The answer is the same whether or not the address has an account, and so is the work
    /// before it: one look-up, one audit entry and one job either way (`MailedCodeHandler` issues
    /// and mails the code). Issuing it here made a registered address answer in 7–9 ms and an
    /// unknown one in 3 ms, which anyone could measure.
    @Sendable static func request(req: Request) async throws -> Response {
        let form = try req.content.decode(EmailCodeForm.self)
        var page = ForgotPasswordPage(layout: .make(for: req, title: "Reset your password"), csrf: req.csrfToken, email: form.email ?? "")
        guard let email = EmailAddress.normalize(form.email ?? "") else {
            page.emailError = "Enter an email address like name@example.com."
            return try await req.view.render("account/forgot-password", page).encodeResponse(status: .unprocessableEntity, for: req)
        }
        // At most `requestsPerNetworkPerHour` from one network, counted alike for any address: each
        // request costs an audit entry and a job.
        let now = req.pictor.clock.now()
        guard
            try await LoginThrottleStore.countInWindow("reset:" + req.ipPrefix, window: 3600, now: now, on: req.db) <= Self.requestsPerNetworkPerHour
        else {
            page.emailError = "Too many reset requests from your network. Try again in an hour."
            return try await req.view.render("account/forgot-password", page).encodeResponse(status: .tooManyRequests, for: req)
        }
        let user = try await UserStore.find(email: email, on: req.db)
        try await req.db.transaction { tx in
            try await Audit.record(
                "password.reset_requested", actor: user?.id, target: user.map { ("user", $0.id!.uuidString) }, request: req, on: tx)
            try await req.application.enqueue(try MailedCodeHandler.job(.resetPassword, for: user?.id), on: tx)
        }
        page.sent = true
        return try await req.view.render("account/forgot-password", page).encodeResponse(for: req)
    }

    @Sendable static func resetForm(req: Request) async throws -> View {
        try await req.view.render(
            "account/reset-password",
            ResetPasswordPage(
                layout: .make(for: req, title: "Choose a new password"), csrf: req.csrfToken,
                email: (try? req.query.get(String.self, at: "email")) ?? ""))
    }

    @Sendable static func reset(req: Request) async throws -> Response {
        let form = try req.content.decode(EmailCodeForm.self)
        let email = EmailAddress.normalize(form.email ?? "") ?? ""
        var page = ResetPasswordPage(layout: .make(for: req, title: "Choose a new password"), csrf: req.csrfToken, email: form.email ?? "")
        let password = form.password ?? ""
        if let problem = PasswordPolicy.problem(with: password, email: email) {
            page.passwordError = problem
            return try await req.view.render("account/reset-password", page).encodeResponse(status: .unprocessableEntity, for: req)
        }
        let hash = try await req.password.async.hash(password)
        let base = req.pictor.config.publicBaseURL.absoluteString
        let now = req.pictor.clock.now()
        let changed = try await req.db.transaction { tx -> Bool in
            guard let user = try await UserStore.find(email: email, on: tx),
                try await OneTimeCodes.redeem(.resetPassword, code: form.code ?? "", for: user.id!, now: now, secrets: req.pictor.secrets, on: tx)
            else { return false }
            user.passwordHash = hash
            user.emailVerifiedAt = user.emailVerifiedAt ?? now  // the code proved the address
            user.updatedAt = now
            try await UserStore.save(user, on: tx)
            let ended = try await SessionStore.revokeAll(of: user.id!, keeping: nil, now: now, on: tx)
            // Whoever had the account may have made API keys: a recovery ends those too.
            try await APIKeyStore.revokeAll(of: user.id!, now: now, on: tx)
            try await Audit.record(
                "password.reset", actor: user.id, target: ("user", user.id!.uuidString),
                detail: ["sessions_ended": String(ended)], request: req, on: tx)
            try await Postman.queue(AccountMail.passwordChanged(to: email, base: base), userID: user.id, app: req.application, on: tx)
            return true
        }
        guard changed else {
            page.codeError = AccountError.codeInvalidOrExpired.userMessage
            return try await req.view.render("account/reset-password", page).encodeResponse(status: .unprocessableEntity, for: req)
        }
        let response = req.redirect(to: SiteURL.signIn.path + "?reset=1")
        response.cookies[req.pictor.cookies.sessionName] = req.pictor.cookies.expired()
        return response
    }
}

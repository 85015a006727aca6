import Domain
import Fluent
import Persistence
import Vapor

/// Sign-in with throttling, and sign-out.
enum SignInController {
    /// A bcrypt hash (cost 12) of a random password, checked when the email is unknown so
    /// that both answers take the same time. Made once per process.
    static let decoyHash: String = (try? Bcrypt.hash(Tokens.random(), cost: 12)) ?? ""

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
        let now = Date()
        var page = SignInPage(layout: .make(for: req, title: "Sign in"), csrf: req.csrfToken, email: form.email ?? "")
        page.next = safeNext(form.next) ?? ""

        let wait = try await LoginThrottle.wait(keys: keys, now: now, on: req.db)
        if wait > 0 {
            try await Audit.record("login.throttled", actor: nil, detail: ["seconds": String(wait)], request: req, on: req.db)
            page.error = AccountError.throttled(retryAfterSeconds: wait).userMessage
            let response = try await req.view.render("account/login", page).encodeResponse(status: .tooManyRequests, for: req)
            response.headers.replaceOrAdd(name: .retryAfter, value: String(wait))
            return response
        }

        let user = try await UserModel.query(on: req.db).filter(\.$email == email).first()
        let passwordMatches = try await req.password.async.verify(form.password ?? "", created: user?.passwordHash ?? decoyHash)
        guard let user, passwordMatches else {
            let locked = try await LoginThrottle.fail(keys: keys, policy: req.pictor.loginThrottle, now: now, on: req.db)
            try await Audit.record(
                locked ? "login.locked" : "login.failed", actor: user?.id,
                target: user.map { ("user", $0.id!.uuidString) }, request: req, on: req.db)
            page.error = AccountError.wrongCredentials.userMessage
            return try await req.view.render("account/login", page).encodeResponse(status: .unauthorized, for: req)
        }
        guard user.status == "active" else {
            page.error = AccountError.suspended.userMessage
            return try await req.view.render("account/login", page).encodeResponse(status: .forbidden, for: req)
        }
        guard user.emailVerifiedAt != nil else {
            page.error = AccountError.emailNotVerified.userMessage
            page.unverified = true
            return try await req.view.render("account/login", page).encodeResponse(status: .forbidden, for: req)
        }

        try await LoginThrottle.succeed(keys: keys, on: req.db)
        let remember = form.remember == "on"
        let (token, session) = try await SessionStore.start(userID: user.id!, remember: remember, request: req, on: req.db)
        try await Audit.record("login.succeeded", actor: user.id, target: ("session", session.id!.uuidString), request: req, on: req.db)
        let response = req.redirect(to: page.next.isEmpty ? "/account" : page.next)
        let cookies = req.pictor.cookies
        response.cookies[cookies.sessionName] = cookies.cookie(token, maxAge: remember ? Int(req.pictor.sessions.absolute) : nil)
        return response
    }

    @Sendable static func logout(req: Request) async throws -> Response {
        if let user = req.currentUser {
            _ = try await SessionStore.revoke(user.sessionID, of: user.id, on: req.db)
            try await Audit.record("logout", actor: user.id, target: ("session", user.sessionID.uuidString), request: req, on: req.db)
        }
        let response = req.redirect(to: "/")
        response.cookies[req.pictor.cookies.sessionName] = req.pictor.cookies.expired()
        return response
    }

    /// Only same-site paths: `/gallery`, never `//evil.example` or `https://…`.
    static func safeNext(_ next: String?) -> String? {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.contains("\\"), next.count < 512 else { return nil }
        return next
    }
}

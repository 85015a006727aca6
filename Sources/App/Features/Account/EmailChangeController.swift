import Domain
import Fluent
import Persistence
import Vapor

/// Changing the account's email: a recent password, then a code sent to the new address.
/// The answer never says whether the new address already has an account.
enum EmailChangeController {
    @Sendable static func form(req: Request) async throws -> Response {
        if let redirect = try SecurityController.reauthentication(req, returnTo: .accountEmail) { return redirect }
        return try await render(EmailChangePage(layout: .make(for: req, title: "Change email"), csrf: req.csrfToken), req)
    }

    @Sendable static func request(req: Request) async throws -> Response {
        if let redirect = try SecurityController.reauthentication(req, returnTo: .accountEmail) { return redirect }
        let current = try req.requireUser()
        var page = EmailChangePage(layout: .make(for: req, title: "Change email"), csrf: req.csrfToken)
        page.newEmail = (try? req.content.get(String.self, at: "email")) ?? ""
        guard let newEmail = EmailAddress.normalize(page.newEmail) else {
            page.emailError = "Enter an email address like name@example.com."
            return try await render(page, req, status: .unprocessableEntity)
        }
        guard newEmail != current.email else {
            page.emailError = "That is already your email address."
            return try await render(page, req, status: .unprocessableEntity)
        }
        let base = req.pictor.config.publicBaseURL.absoluteString
        try await req.db.transaction { tx in
            // One code a minute per account, whatever the address: the form cannot flood anyone.
            guard try await !OneTimeCodes.issuedRecently(.changeEmail, for: current.id, now: req.pictor.clock.now(), on: tx) else { return }
            // A code is issued either way, so the limit above starts either way (otherwise whether
            // the next address gets a code would tell whether this one is taken). For a taken
            // address it is never sent, and confirming could not move to it anyway.
            let code = try await OneTimeCodes.issue(
                .changeEmail, for: current.id, target: newEmail, now: req.pictor.clock.now(), secrets: req.pictor.secrets, on: tx)
            try await Audit.record("email.change_requested", actor: current.id, request: req, on: tx)
            if try await UserStore.find(email: newEmail, on: tx) != nil {
                let notice = AccountMail.alreadyRegistered(to: newEmail, base: base)
                if try await !Postman.recentlyQueued(
                    to: newEmail, subject: notice.subject, within: 3600, now: req.pictor.clock.now(), secrets: req.pictor.secrets, on: tx)
                {
                    try await Postman.queue(notice, app: req.application, on: tx)
                }
                return
            }
            try await Postman.queue(
                AccountMail.confirmNewEmail(to: newEmail, code: code, base: base), userID: current.id, app: req.application, on: tx)
        }
        page.sent = true
        return try await render(page, req)
    }

    @Sendable static func confirm(req: Request) async throws -> Response {
        if let redirect = try SecurityController.reauthentication(req, returnTo: .accountEmail) { return redirect }
        let current = try req.requireUser()
        let code = (try? req.content.get(String.self, at: "code")) ?? ""
        let base = req.pictor.config.publicBaseURL.absoluteString
        let now = req.pictor.clock.now()
        let changed = try await req.db.transaction { tx -> Bool in
            guard
                let newEmail = try await OneTimeCodes.redeemTarget(
                    .changeEmail, code: code, for: current.id, now: now, secrets: req.pictor.secrets, on: tx),
                !newEmail.isEmpty,
                try await UserStore.find(email: newEmail, on: tx) == nil,
                let user = try await UserStore.find(current.id, on: tx)
            else { return false }
            let oldEmail = user.email
            user.email = newEmail
            user.emailVerifiedAt = now
            user.updatedAt = now
            try await UserStore.save(user, on: tx)
            // A reset code mailed to the old address must not work once the account has moved on.
            try await OneTimeCodes.void(.resetPassword, for: user.id!, now: now, on: tx)
            try await Audit.record("email.changed", actor: user.id, target: ("user", user.id!.uuidString), request: req, on: tx)
            try await Postman.queue(
                AccountMail.emailChanged(to: oldEmail, newEmail: newEmail, base: base), userID: user.id, app: req.application, on: tx)
            return true
        }
        guard changed else {
            var page = EmailChangePage(layout: .make(for: req, title: "Change email"), csrf: req.csrfToken)
            page.sent = true
            page.codeError = AccountError.codeInvalidOrExpired.userMessage
            return try await render(page, req, status: .unprocessableEntity)
        }
        return req.redirect(to: SiteURL.account.path + "?done=email")
    }

    private static func render(_ page: EmailChangePage, _ req: Request, status: HTTPStatus = .ok) async throws -> Response {
        try await req.view.render("account/change-email", page).encodeResponse(status: status, for: req)
    }
}

struct EmailChangePage: Encodable {
    let layout: LayoutContext
    let csrf: String
    var newEmail = ""
    var sent = false
    var emailError: String?
    var codeError: String?
}

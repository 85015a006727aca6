import Domain
import Fluent
import Persistence
import Vapor

/// The signed-in person's account pages: overview and sessions.
enum AccountController {
    @Sendable static func overview(req: Request) async throws -> View {
        let current = try req.requireUser()
        let user = try await req.userRecord(current)
        return try await req.view.render(
            "account/overview",
            AccountOverviewPage(
                layout: .make(for: req, title: "Your account"), email: user.email, verified: user.emailVerifiedAt != nil,
                role: user.role.rawValue, memberSince: user.createdAt.pageText,
                notice: (try? req.query.get(String.self, at: "done")) == "email" ? "Your email address was changed." : nil))
    }

    @Sendable static func sessions(req: Request) async throws -> View {
        let current = try req.requireUser()
        let rows = try await Sessions.live(of: current.id, now: req.pictor.clock.now(), policy: req.pictor.sessions, on: req.db)
            .map { session in
                SessionsPage.Row(
                    revokeURL: SiteURL.accountSessionRevoke.path(session: session.id!), device: session.device, network: session.ipPrefix,
                    lastSeen: session.lastSeenAt.pageText, started: session.createdAt.pageText,
                    current: session.id == current.sessionID)
            }
        var page = SessionsPage(
            layout: .make(for: req, title: "Signed-in devices"), csrf: req.csrfToken, sessions: rows,
            hasOthers: rows.contains { !$0.current })
        if (try? req.query.get(String.self, at: "ended")) == "1" { page.notice = "Signed out of that device." }
        if (try? req.query.get(String.self, at: "ended")) == "others" { page.notice = "Signed out of every other device." }
        return try await req.view.render("account/sessions", page)
    }

    /// Another person's session id is answered like a missing one: 404.
    @Sendable static func revoke(req: Request) async throws -> Response {
        let current = try req.requireUser()
        guard let id = req.parameters.get("sessionID", as: UUID.self),
            try await SessionStore.revoke(id, of: current.id, now: req.pictor.clock.now(), on: req.db)
        else { throw AccessError.notFound }
        try await Audit.record("session.revoked", actor: current.id, target: ("session", id.uuidString), request: req, on: req.db)
        if id == current.sessionID {
            let response = req.redirect(to: SiteURL.home.path)
            response.cookies[req.pictor.cookies.sessionName] = req.pictor.cookies.expired()
            return response
        }
        return req.redirect(to: SiteURL.accountSessions.path + "?ended=1")
    }

    @Sendable static func revokeOthers(req: Request) async throws -> Response {
        let current = try req.requireUser()
        let ended = try await SessionStore.revokeAll(of: current.id, keeping: current.sessionID, now: req.pictor.clock.now(), on: req.db)
        try await Audit.record("session.revoked_others", actor: current.id, detail: ["count": String(ended)], request: req, on: req.db)
        return req.redirect(to: SiteURL.accountSessions.path + "?ended=others")
    }
}

/// JSON for the sessions page: `GET /api/v1/account/sessions`, `DELETE /api/v1/account/sessions/{id}`.
enum SessionsAPI {
    struct Session: Content {
        let id: UUID
        let device: String
        let network: String
        let createdAt: Date
        let lastSeenAt: Date
        let current: Bool
    }

    @Sendable static func list(req: Request) async throws -> [Session] {
        let user = try req.requireUser(scope: .accountRead)
        return try await Sessions.live(of: user.id, now: req.pictor.clock.now(), policy: req.pictor.sessions, on: req.db)
            .map {
                Session(
                    id: $0.id!, device: $0.device, network: $0.ipPrefix, createdAt: $0.createdAt,
                    lastSeenAt: $0.lastSeenAt, current: user.apiScopes == nil && $0.id == user.sessionID)
            }
    }

    /// Ending a session is for the signed-in browser only, not for API keys.
    @Sendable static func revoke(req: Request) async throws -> HTTPStatus {
        let user = try req.requireUser()
        guard user.apiScopes == nil else { throw Abort(.forbidden, reason: "API keys cannot end sessions.") }
        guard let id = req.parameters.get("sessionID", as: UUID.self),
            try await SessionStore.revoke(id, of: user.id, now: req.pictor.clock.now(), on: req.db)
        else { throw AccessError.notFound }
        try await Audit.record("session.revoked", actor: user.id, target: ("session", id.uuidString), request: req, on: req.db)
        return .noContent
    }
}

/// `GET /api/v1/account/disclosures`: who received the person's data, newest first.
enum DisclosuresAPI {
    struct Item: Content {
        let processor: String
        let purpose: String
        let categories: String
        let generationId: UUID?
        let sentAt: Date
    }

    @Sendable static func list(req: Request) async throws -> [Item] {
        let user = try req.requireUser(scope: .accountRead)
        return try await DisclosureStore.list(of: user.id, limit: 500, on: req.db).map {
            Item(processor: $0.processor, purpose: $0.purpose, categories: $0.categories, generationId: $0.generationID, sentAt: $0.createdAt)
        }
    }
}

import Domain
import Fluent
import Persistence
import Vapor

/// The API keys page, and the first JSON endpoint they unlock.
enum APIKeysController {
    @Sendable static func list(req: Request) async throws -> View {
        try await req.view.render("account/api-keys", try await page(req))
    }

    /// Creating a key needs a recent password, like other security changes; the key is shown once.
    @Sendable static func create(req: Request) async throws -> Response {
        if let redirect = try SecurityController.reauthentication(req, returnTo: .accountAPIKeys) { return redirect }
        let current = try req.requireUser()
        let name = ((try? req.content.get(String.self, at: "name")) ?? "").trimmingCharacters(in: .whitespaces)
        let scopes = APIScope.allCases.filter { (try? req.content.get(String.self, at: "scope_\($0.rawValue)")) == "on" }
        var form = try await page(req)
        if name.isEmpty || name.count > 80 { form.nameError = "Name the key (up to 80 characters), e.g. the script that uses it." }
        if scopes.isEmpty { form.scopesError = "Choose at least one thing the key may do." }
        guard form.nameError == nil, form.scopesError == nil else {
            form.name = name
            return try await req.view.render("account/api-keys", form).encodeResponse(status: .unprocessableEntity, for: req)
        }
        let created = try await APIKeys.create(name: name, scopes: scopes, for: current.id, now: req.pictor.clock.now(), on: req.db)
        try await Audit.record(
            "api_key.created", actor: current.id, target: ("api_key", created.row.id!.uuidString),
            detail: ["scopes": created.row.scopes], request: req, on: req.db)
        var shown = try await page(req)
        shown.newKey = created.key
        return try await req.view.render("account/api-keys", shown).encodeResponse(status: .created, for: req)
    }

    @Sendable static func revoke(req: Request) async throws -> Response {
        let current = try req.requireUser()
        guard let id = req.parameters.get("keyID", as: UUID.self),
            try await APIKeyStore.revoke(id, of: current.id, now: req.pictor.clock.now(), on: req.db)
        else { throw AccessError.notFound }
        try await Audit.record("api_key.revoked", actor: current.id, target: ("api_key", id.uuidString), request: req, on: req.db)
        return req.redirect(to: SiteURL.accountAPIKeys.path)
    }

    struct Me: Content {
        let id: UUID
        let email: String
        let role: String
        let emailVerified: Bool
    }

    /// `GET /api/v1/me`: a session or a key with `account:read`.
    @Sendable static func me(req: Request) async throws -> Me {
        let user = try req.requireUser(scope: .accountRead)
        return Me(id: user.id, email: user.email, role: user.role.rawValue, emailVerified: user.emailVerified)
    }

    private static func page(_ req: Request) async throws -> APIKeysPage {
        let current = try req.requireUser()
        let keys = try await APIKeyStore.live(of: current.id, on: req.db)
        return APIKeysPage(
            layout: .make(for: req, title: "API keys"), csrf: req.csrfToken,
            keys: keys.map { key in
                APIKeysPage.Key(
                    revokeURL: SiteURL.accountAPIKeyRevoke.path(key: key.id!), name: key.name, prefix: key.prefix, scopes: key.scopes,
                    created: key.createdAt.pageText, lastUsed: key.lastUsedAt?.pageText ?? "never")
            },
            scopes: APIScope.allCases.map { .init(value: $0.rawValue, summary: $0.summary) })
    }
}

struct APIKeysPage: Encodable {
    struct Key: Encodable {
        let revokeURL: String
        let name: String
        let prefix: String
        let scopes: String
        let created: String
        let lastUsed: String
    }

    struct Scope: Encodable {
        let value: String
        let summary: String
    }

    let layout: LayoutContext
    let csrf: String
    let keys: [Key]
    var hasKeys: Bool { !keys.isEmpty }
    let scopes: [Scope]
    var newKey: String?
    var name = ""
    var nameError: String?
    var scopesError: String?

    enum CodingKeys: String, CodingKey {
        case layout, csrf, keys, hasKeys, scopes, newKey, name, nameError, scopesError
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(layout, forKey: .layout)
        try container.encode(csrf, forKey: .csrf)
        try container.encode(keys, forKey: .keys)
        try container.encode(hasKeys, forKey: .hasKeys)
        try container.encode(scopes, forKey: .scopes)
        try container.encodeIfPresent(newKey, forKey: .newKey)
        try container.encode(name, forKey: .name)
        try container.encodeIfPresent(nameError, forKey: .nameError)
        try container.encodeIfPresent(scopesError, forKey: .scopesError)
    }
}

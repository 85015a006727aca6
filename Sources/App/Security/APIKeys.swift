import Domain
import Fluent
import Persistence
import Vapor

/// What an API key may do.
enum APIScope: String, CaseIterable, Sendable {
    case accountRead = "account:read"
    case generationsRead = "generations:read"
    case generationsWrite = "generations:write"

    var summary: String {
        switch self {
        case .accountRead: "Read your account details"
        case .generationsRead: "Read your generations and images"
        case .generationsWrite: "Create and cancel generations (spends credits)"
        }
    }
}

/// Personal API keys: `pictor_<8-char prefix>_<43-char secret>`, shown once.
enum APIKeys {
    struct Created {
        let key: String
        let row: APIKeyModel
    }

    static func create(name: String, scopes: [APIScope], for userID: UUID, now: Date, on db: any Database) async throws -> Created {
        let prefix = "pictor_" + Tokens.readable(length: 8).lowercased()
        let key = prefix + "_" + Tokens.random()
        let row = APIKeyModel()
        row.userID = userID
        row.name = name
        row.prefix = prefix
        row.keyHash = Tokens.sha256(key)
        row.scopes = scopes.map(\.rawValue).joined(separator: " ")
        row.createdAt = now
        try await APIKeyStore.insert(row, on: db)
        return Created(key: key, row: row)
    }

    /// The live key and its active user for a presented key, or nil.
    static func authenticate(_ presented: String, now: Date, on db: any Database) async throws -> APIKeyCredential? {
        let parts = presented.split(separator: "_", maxSplits: 2)  // the secret itself may contain "_"
        guard parts.count == 3, parts[0] == "pictor",
            let key = try await APIKeyStore.credential(prefix: "pictor_\(parts[1])", on: db),
            constantTimeEquals(Array(Tokens.sha256(presented).utf8), Array(key.keyHash.utf8)),
            key.status == .active
        else { return nil }
        if (key.lastUsedAt.map { now.timeIntervalSince($0) > 60 }) ?? true {
            try await APIKeyStore.markUsed(key.keyID, at: now, on: db)
        }
        return key
    }
}

/// Signs API requests in from `Authorization: Bearer pictor_…`. A bad key is a 401,
/// never a fall-back to the session cookie. Other bearer tokens (the metrics token) pass by.
struct APIKeyMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        if let presented = request.headers.bearerAuthorization?.token, presented.hasPrefix("pictor_") {
            guard let key = try await APIKeys.authenticate(presented, now: request.pictor.clock.now(), on: request.db) else {
                throw Abort(.unauthorized, reason: "The API key is not valid, or it was revoked.")
            }
            request.currentUser = CurrentUser(
                id: key.userID, email: key.email, role: key.role,
                emailVerified: key.emailVerified, sessionID: key.keyID, csrfToken: "",
                authenticatedAt: .distantPast,
                apiScopes: Set(key.scopes.split(separator: " ").compactMap { APIScope(rawValue: String($0)) }))
            request.logger[metadataKey: "user-id"] = .string(key.userID.uuidString)
        }
        return try await next.respond(to: request)
    }
}

extension Request {
    /// The signed-in user, who (when signed in with an API key) must hold `scope`.
    func requireUser(scope: APIScope) throws -> CurrentUser {
        let user = try requireUser()
        if let scopes = user.apiScopes, !scopes.contains(scope) {
            throw Abort(.forbidden, reason: "This API key does not have the \(scope.rawValue) scope.")
        }
        return user
    }
}

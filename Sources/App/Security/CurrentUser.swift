import Domain
import Persistence
import Vapor

/// The signed-in person for this request, loaded from the session cookie.
struct CurrentUser: Sendable {
    typealias Role = AccountRole

    let id: UUID
    let email: String
    let role: Role
    let emailVerified: Bool
    let sessionID: UUID
    let csrfToken: String
    let authenticatedAt: Date
    /// Set when the request was signed in with an API key: what that key may do.
    var apiScopes: Set<APIScope>? = nil
    /// Credits available (pages show it in the header); read with the session, nil for API keys.
    var creditsAvailable: Int? = nil
}

private struct CurrentUserKey: StorageKey { typealias Value = CurrentUser }
private struct AnonymousCSRFKey: StorageKey { typealias Value = String }

extension Request {
    var currentUser: CurrentUser? {
        get { storage[CurrentUserKey.self] }
        set { storage[CurrentUserKey.self] = newValue }
    }

    /// The signed-in user, or 401 (pages redirect to sign-in instead; see `RequireSignIn`).
    func requireUser() throws -> CurrentUser {
        guard let user = currentUser else { throw Abort(.unauthorized, reason: "Sign in first.") }
        return user
    }

    /// Whether `user`'s sign-in (the session, or the API key) still holds. A response that runs
    /// for minutes asks again as it goes: signing out, a revoked session or key, or a suspended
    /// account ends it.
    func isStillSignedIn(_ user: CurrentUser) async throws -> Bool {
        if user.apiScopes != nil { return try await APIKeyStore.isLive(keyID: user.sessionID, on: db) }
        return try await Sessions.isLive(user.sessionID, now: pictor.clock.now(), policy: pictor.sessions, on: db)
    }

    /// The CSRF token forms on this page must carry: the session's, or for visitors the
    /// value of their CSRF cookie (set on first need).
    var csrfToken: String {
        if let user = currentUser { return user.csrfToken }
        if let token = storage[AnonymousCSRFKey.self] { return token }
        let policy = CookiePolicy(publicBaseURL: pictor.config.publicBaseURL)
        let token = cookies[policy.csrfName]?.string ?? Tokens.random()
        storage[AnonymousCSRFKey.self] = token
        return token
    }

    /// Whether `csrfToken` minted a new visitor token that the response must set as a cookie.
    var mintedAnonymousCSRF: String? {
        guard currentUser == nil, let token = storage[AnonymousCSRFKey.self] else { return nil }
        let policy = CookiePolicy(publicBaseURL: pictor.config.publicBaseURL)
        return cookies[policy.csrfName]?.string == token ? nil : token
    }

    /// The client's network as stored: IPv4 /24 or IPv6 /48.
    var ipPrefix: String {
        IPPrefix.truncate(clientAddress)
    }

    /// The address sign-in throttles, audit entries and the sessions page go by. Behind a proxy
    /// (`TRUST_PROXY`), the rightmost `X-Forwarded-For` entry: the one the proxy appended; the
    /// others come from the client. Otherwise the connection's own address, never a header
    /// (Vapor's `peerAddress` believes `Forwarded` and `X-Forwarded-For` from anyone: a client
    /// could pick a new network per guess, or lock another network out).
    var clientAddress: String {
        if pictor.config.trustProxy,
            let forwarded = headers[("X-Forwarded-For")].last?
                .split(separator: ",").last?.trimmingCharacters(in: .whitespaces), !forwarded.isEmpty
        {
            return forwarded
        }
        return remoteAddress?.ipAddress ?? "unknown"
    }
}

extension Request {
    /// The signed-in person's account row; 404 if it has gone.
    func userRecord(_ current: CurrentUser) async throws -> UserModel {
        guard let user = try await UserStore.find(current.id, on: db) else { throw AccessError.notFound }
        return user
    }
}

import Domain
import Fluent
import Persistence
import SQLKit
import Vapor

/// Database-backed sign-in sessions. The cookie carries a random 256-bit token; the
/// database keeps only its SHA-256, so a copy of the database signs nobody in.
enum SessionStore {
    /// Starts a new session (a new id and token every sign-in: no fixation) and returns its token.
    static func start(userID: UUID, remember: Bool, request: Request, on db: any Database) async throws -> (token: String, session: SessionModel) {
        let token = Tokens.random()
        let now = Date()
        let session = SessionModel()
        session.id = UUID()
        session.userID = userID
        session.tokenHash = Tokens.sha256(token)
        session.csrfToken = Tokens.random()
        session.createdAt = now
        session.lastSeenAt = now
        session.authenticatedAt = now
        session.remember = remember
        session.device = DeviceSummary.describe(userAgent: request.headers.first(name: .userAgent))
        session.ipPrefix = request.ipPrefix
        try await session.create(on: db)
        return (token, session)
    }

    /// The live session and its user for a cookie token, or nil.
    static func lookup(token: String, now: Date, policy: SessionPolicy, on db: any Database) async throws -> (SessionModel, UserModel)? {
        guard let session = try await SessionModel.query(on: db)
            .filter(\.$tokenHash == Tokens.sha256(token))
            .filter(\.$revokedAt == nil)
            .first(),
            policy.isLive(createdAt: session.createdAt, lastSeenAt: session.lastSeenAt, now: now),
            let user = try await UserModel.find(session.userID, on: db),
            user.status == "active"
        else { return nil }
        return (session, user)
    }

    /// Whether the session is still live and its user active: a response that runs for minutes
    /// (an event stream) asks again as it goes, so that signing out ends it.
    /// One plain read: every open stream asks every 2 s.
    static func isLive(_ sessionID: UUID, now: Date, policy: SessionPolicy, on db: any Database) async throws -> Bool {
        guard let row = try await sqlDatabase(db).raw("""
            SELECT s.created_at, s.last_seen_at FROM sessions s JOIN users u ON u.id = s.user_id
            WHERE s.id = \(bind: sessionID) AND s.revoked_at IS NULL AND u.status = 'active'
            """).first()
        else { return false }
        return policy.isLive(
            createdAt: try row.decode(column: "created_at", as: Date.self),
            lastSeenAt: try row.decode(column: "last_seen_at", as: Date.self), now: now)
    }

    /// The user's sessions that are still live, most recently seen first.
    static func live(of userID: UUID, policy: SessionPolicy, on db: any Database) async throws -> [SessionModel] {
        let now = Date()
        return try await SessionModel.query(on: db)
            .filter(\.$userID == userID).filter(\.$revokedAt == nil)
            .sort(\.$lastSeenAt, .descending).all()
            .filter { policy.isLive(createdAt: $0.createdAt, lastSeenAt: $0.lastSeenAt, now: now) }
    }

    static func revoke(_ sessionID: UUID, of userID: UUID, on db: any Database) async throws -> Bool {
        guard let session = try await SessionModel.query(on: db)
            .filter(\.$id == sessionID).filter(\.$userID == userID).filter(\.$revokedAt == nil).first()
        else { return false }
        session.revokedAt = Date()
        try await session.update(on: db)
        return true
    }

    /// Ends every session of the user, except `keeping` when given. Returns how many ended.
    @discardableResult
    static func revokeAll(of userID: UUID, keeping: UUID? = nil, on db: any Database) async throws -> Int {
        var query = SessionModel.query(on: db).filter(\.$userID == userID).filter(\.$revokedAt == nil)
        if let keeping { query = query.filter(\.$id != keeping) }
        let sessions = try await query.all()
        let now = Date()
        for session in sessions {
            session.revokedAt = now
            try await session.update(on: db)
        }
        return sessions.count
    }
}

/// "Firefox on Linux", from a User-Agent header; nothing more specific is kept.
enum DeviceSummary {
    static func describe(userAgent: String?) -> String {
        guard let agent = userAgent, !agent.isEmpty else { return "Unknown device" }
        let browser: String =
            agent.contains("Edg/") ? "Edge" :
            agent.contains("Firefox/") ? "Firefox" :
            agent.contains("Chrome/") || agent.contains("Chromium/") ? "Chrome" :
            agent.contains("Safari/") ? "Safari" :
            agent.lowercased().contains("curl") ? "curl" : "Another browser"
        let system: String =
            agent.contains("Android") ? "Android" :
            agent.contains("iPhone") || agent.contains("iPad") ? "iOS" :
            agent.contains("Mac OS X") || agent.contains("Macintosh") ? "macOS" :
            agent.contains("Windows") ? "Windows" :
            agent.contains("Linux") ? "Linux" : "an unknown system"
        return "\(browser) on \(system)"
    }
}

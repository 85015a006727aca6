import Domain
import Fluent
import Persistence
import Vapor

/// Database-backed sign-in sessions. The cookie carries a random 256-bit token; the
/// database keeps only its SHA-256, so a copy of the database signs nobody in.
enum Sessions {
    /// Starts a new session (a new id and token every sign-in: no fixation) and returns its token.
    static func start(userID: UUID, remember: Bool, request: Request, on db: any Database) async throws -> (token: String, session: SessionModel) {
        let token = Tokens.random()
        let now = request.pictor.clock.now()
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
        try await SessionStore.insert(session, on: db)
        return (token, session)
    }

    /// The live session and its user for a cookie token, or nil.
    static func lookup(token: String, now: Date, policy: SessionPolicy, on db: any Database) async throws -> (SessionModel, UserModel)? {
        guard let (session, user) = try await SessionStore.unrevoked(tokenHash: Tokens.sha256(token), on: db),
            policy.isLive(createdAt: session.createdAt, lastSeenAt: session.lastSeenAt, now: now)
        else { return nil }
        return (session, user)
    }

    /// Whether the session is still live and its user active: a response that runs for minutes
    /// (an event stream) asks again as it goes, so that signing out ends it.
    static func isLive(_ sessionID: UUID, now: Date, policy: SessionPolicy, on db: any Database) async throws -> Bool {
        guard let times = try await SessionStore.times(ofUnrevoked: sessionID, on: db) else { return false }
        return policy.isLive(createdAt: times.createdAt, lastSeenAt: times.lastSeenAt, now: now)
    }

    /// The user's sessions that are still live, most recently seen first.
    static func live(of userID: UUID, now: Date, policy: SessionPolicy, on db: any Database) async throws -> [SessionModel] {
        try await SessionStore.unrevoked(of: userID, on: db)
            .filter { policy.isLive(createdAt: $0.createdAt, lastSeenAt: $0.lastSeenAt, now: now) }
    }
}

/// "Firefox on Linux", from a User-Agent header; nothing more specific is kept.
enum DeviceSummary {
    static func describe(userAgent: String?) -> String {
        guard let agent = userAgent, !agent.isEmpty else { return "Unknown device" }
        let browser: String =
            agent.contains("Edg/")
            ? "Edge"
            : agent.contains("Firefox/")
                ? "Firefox"
                : agent.contains("Chrome/") || agent.contains("Chromium/")
                    ? "Chrome" : agent.contains("Safari/") ? "Safari" : agent.lowercased().contains("curl") ? "curl" : "Another browser"
        let system: String =
            agent.contains("Android")
            ? "Android"
            : agent.contains("iPhone") || agent.contains("iPad")
                ? "iOS"
                : agent.contains("Mac OS X") || agent.contains("Macintosh")
                    ? "macOS" : agent.contains("Windows") ? "Windows" : agent.contains("Linux") ? "Linux" : "an unknown system"
        return "\(browser) on \(system)"
    }
}

import Domain
import FluentKit
import Foundation
import SQLKit

/// Reads and writes of sign-in sessions (`sessions`). Whether a session is still live by its
/// age is `SessionPolicy`'s decision; these return what is stored.
public enum SessionStore {
    public static func insert(_ session: SessionModel, on db: any Database) async throws {
        try await session.create(on: db)
    }

    /// Writes the changes made to `session`.
    public static func save(_ session: SessionModel, on db: any Database) async throws {
        try await session.save(on: db)
    }

    public static func find(_ id: UUID, on db: any Database) async throws -> SessionModel? {
        try await SessionModel.find(id, on: db)
    }

    /// The unrevoked session whose token has this hash, and its account when that is active.
    public static func unrevoked(tokenHash: String, on db: any Database) async throws -> (SessionModel, UserModel)? {
        guard
            let session = try await SessionModel.query(on: db)
                .filter(\.$tokenHash == tokenHash).filter(\.$revokedAt == nil).first(),
            let user = try await UserModel.find(session.userID, on: db), user.status == .active
        else { return nil }
        return (session, user)
    }

    /// When the session began and was last seen, if it is unrevoked and its account active.
    /// One plain read: every open event stream asks every 2 s.
    public static func times(ofUnrevoked sessionID: UUID, on db: any Database) async throws -> (createdAt: Date, lastSeenAt: Date)? {
        guard
            let row = try await sqlDatabase(db).raw(
                """
                SELECT s.created_at, s.last_seen_at FROM sessions s JOIN users u ON u.id = s.user_id
                WHERE s.id = \(bind: sessionID) AND s.revoked_at IS NULL AND u.status = \(unsafeRaw: AccountStatus.active.sql)
                """
            ).first()
        else { return nil }
        return (try row.decode(column: "created_at", as: Date.self), try row.decode(column: "last_seen_at", as: Date.self))
    }

    /// The account's unrevoked sessions, most recently seen first.
    public static func unrevoked(of userID: UUID, on db: any Database) async throws -> [SessionModel] {
        try await SessionModel.query(on: db)
            .filter(\.$userID == userID).filter(\.$revokedAt == nil)
            .sort(\.$lastSeenAt, .descending).all()
    }

    /// Ends one of the account's sessions; false when it has no such unrevoked session.
    public static func revoke(_ sessionID: UUID, of userID: UUID, now: Date, on db: any Database) async throws -> Bool {
        try await sqlDatabase(db).raw(
            """
            UPDATE sessions SET revoked_at = \(bind: now)
            WHERE id = \(bind: sessionID) AND user_id = \(bind: userID) AND revoked_at IS NULL RETURNING id
            """
        ).first() != nil
    }

    /// Ends every unrevoked session of the account except `keeping`; returns how many ended.
    public static func revokeAll(of userID: UUID, keeping: UUID?, now: Date, on db: any Database) async throws -> Int {
        try await sqlDatabase(db).raw(
            """
            UPDATE sessions SET revoked_at = \(bind: now)
            WHERE user_id = \(bind: userID) AND revoked_at IS NULL AND id <> \(bind: keeping ?? UUID()) RETURNING id
            """
        ).all().count
    }
}

import Domain
import FluentKit
import Foundation
import SQLKit

/// Single-use codes (`one_time_codes`), stored as keyed hashes.
public enum OneTimeCodeStore {
    public static func insert(_ code: OneTimeCodeModel, on db: any Database) async throws {
        try await code.create(on: db)
    }

    /// Marks the account's unused codes of `purpose` used.
    public static func void(_ purpose: CodePurpose, for userID: UUID, now: Date, on db: any Database) async throws {
        try await OneTimeCodeModel.query(on: db)
            .filter(\.$userID == userID).filter(\.$purpose == purpose).filter(\.$usedAt == nil)
            .set(\.$usedAt, to: now)
            .update()
    }

    /// Whether a code of `purpose` was made for the account after `since`.
    public static func issued(_ purpose: CodePurpose, for userID: UUID, since: Date, on db: any Database) async throws -> Bool {
        try await OneTimeCodeModel.query(on: db)
            .filter(\.$userID == userID).filter(\.$purpose == purpose)
            .filter(\.$createdAt > since).count() > 0
    }

    /// The newest unused, unexpired code of `purpose`.
    public static func live(_ purpose: CodePurpose, for userID: UUID, now: Date, on db: any Database) async throws -> OneTimeCodeModel? {
        try await OneTimeCodeModel.query(on: db)
            .filter(\.$userID == userID).filter(\.$purpose == purpose).filter(\.$usedAt == nil)
            .filter(\.$expiresAt > now)
            .sort(\.$createdAt, .descending)
            .first()
    }

    /// Counts a guess at the code, atomically, unless it is used or has had `maxAttempts`:
    /// true when the guess may be compared. A nil id runs the same statement on no row.
    public static func countGuess(at codeID: UUID?, maxAttempts: Int, on db: any Database) async throws -> Bool {
        try await sqlDatabase(db).raw(
            """
            UPDATE one_time_codes SET attempts = attempts + 1
            WHERE id = \(bind: codeID ?? UUID()) AND attempts < \(bind: maxAttempts) AND used_at IS NULL
            RETURNING id
            """
        ).first() != nil
    }

    /// Uses the code up: true for the one request that did.
    public static func use(_ codeID: UUID, now: Date, on db: any Database) async throws -> Bool {
        try await sqlDatabase(db).raw(
            """
            UPDATE one_time_codes SET used_at = \(bind: now) WHERE id = \(bind: codeID) AND used_at IS NULL RETURNING id
            """
        ).first() != nil
    }
}

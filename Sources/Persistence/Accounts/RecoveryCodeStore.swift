import FluentKit
import Foundation
import SQLKit

/// Two-factor recovery codes (`recovery_codes`), stored as keyed hashes.
public enum RecoveryCodeStore {
    /// Replaces the account's codes with these hashes.
    public static func replace(for userID: UUID, with hashes: [String], now: Date, on db: any Database) async throws {
        try await deleteAll(of: userID, on: db)
        for hash in hashes {
            let row = RecoveryCodeModel()
            row.userID = userID
            row.codeHash = hash
            row.createdAt = now
            try await row.create(on: db)
        }
    }

    public static func deleteAll(of userID: UUID, on db: any Database) async throws {
        try await RecoveryCodeModel.query(on: db).filter(\.$userID == userID).delete()
    }

    /// Uses up the unused code with this hash: in one statement, so the same code sent twice at
    /// once works once.
    public static func redeem(hash: String, of userID: UUID, now: Date, on db: any Database) async throws -> Bool {
        try await sqlDatabase(db).raw(
            """
            UPDATE recovery_codes SET used_at = \(bind: now)
            WHERE user_id = \(bind: userID) AND code_hash = \(bind: hash) AND used_at IS NULL RETURNING id
            """
        ).first() != nil
    }

    public static func unusedCount(of userID: UUID, on db: any Database) async throws -> Int {
        try await RecoveryCodeModel.query(on: db).filter(\.$userID == userID).filter(\.$usedAt == nil).count()
    }
}

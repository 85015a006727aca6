import Domain
import FluentKit
import Foundation
import SQLKit

/// Reads and writes of accounts (`users`).
public enum UserStore {
    public static func find(_ id: UUID, on db: any Database) async throws -> UserModel? {
        try await UserModel.find(id, on: db)
    }

    /// The account with this (normalised, lower-case) address.
    public static func find(email: String, on db: any Database) async throws -> UserModel? {
        try await UserModel.query(on: db).filter(\.$email == email).first()
    }

    /// The addresses of these accounts, by id (the audit page's actors).
    public static func emails(of ids: Set<UUID>, on db: any Database) async throws -> [UUID: String] {
        guard !ids.isEmpty else { return [:] }
        let users = try await UserModel.query(on: db).filter(\.$id ~~ Array(ids)).all()
        return Dictionary(uniqueKeysWithValues: users.compactMap { user in user.id.map { ($0, user.email) } })
    }

    public static func count(on db: any Database) async throws -> Int {
        try await UserModel.query(on: db).count()
    }

    public static func insert(_ user: UserModel, on db: any Database) async throws {
        try await user.create(on: db)
    }

    /// Writes the changes made to `user`.
    public static func save(_ user: UserModel, on db: any Database) async throws {
        try await user.save(on: db)
    }

    /// Keeps the hash of a pending two-factor sign-in's nonce (`users.pending_sign_in`).
    public static func setPendingSignIn(_ nonceHash: String, for userID: UUID, on db: any Database) async throws {
        try await UserModel.query(on: db).filter(\.$id == userID).set(\.$pendingSignIn, to: nonceHash).update()
    }

    /// Clears the pending sign-in if it is still `nonceHash`: true for the one request that did.
    public static func usePendingSignIn(_ nonceHash: String, for userID: UUID, on db: any Database) async throws -> Bool {
        try await sqlDatabase(db).raw(
            """
            UPDATE users SET pending_sign_in = NULL
            WHERE id = \(bind: userID) AND pending_sign_in = \(bind: nonceHash) RETURNING id
            """
        ).first() != nil
    }

    /// Records `step` as the last TOTP step used, if it is later than the one stored: in one
    /// statement, so two requests racing with the same code cannot both use it.
    public static func claimTOTPStep(_ step: Int64, for userID: UUID, now: Date, on db: any Database) async throws -> Bool {
        try await sqlDatabase(db).raw(
            """
            UPDATE users SET totp_last_step = \(bind: step), updated_at = \(bind: now)
            WHERE id = \(bind: userID) AND (totp_last_step IS NULL OR totp_last_step < \(bind: step))
            RETURNING id
            """
        ).first() != nil
    }
}

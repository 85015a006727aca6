import Domain
import FluentKit
import Foundation
import SQLKit

/// An API key and its account, as signing in with the key needs them.
public struct APIKeyCredential: Sendable {
    public let keyID: UUID
    public let keyHash: String
    /// Space-separated scope names.
    public let scopes: String
    public let lastUsedAt: Date?
    public let userID: UUID
    public let email: String
    public let role: AccountRole
    public let status: AccountStatus
    public let emailVerified: Bool
}

/// The reads and writes of signing in with an API key: every API request makes them, so they
/// are plain SQL (Fluent decoded two whole models through reflection per request).
public enum APIKeyStore {
    /// The live (not revoked) key with this public prefix and its user, in one indexed read.
    public static func credential(prefix: String, on db: any Database) async throws -> APIKeyCredential? {
        guard
            let row = try await sqlDatabase(db).raw(
                """
                SELECT k.id AS key_id, k.key_hash, k.scopes, k.last_used_at,
                       u.id AS user_id, u.email, u.role, u.status, u.email_verified_at
                FROM api_keys k JOIN users u ON u.id = k.user_id
                WHERE k.prefix = \(bind: prefix) AND k.revoked_at IS NULL
                LIMIT 1
                """
            ).first()
        else { return nil }
        return APIKeyCredential(
            keyID: try row.decode(column: "key_id", as: UUID.self),
            keyHash: try row.decode(column: "key_hash", as: String.self),
            scopes: try row.decode(column: "scopes", as: String.self),
            lastUsedAt: try row.decode(column: "last_used_at", as: Date?.self),
            userID: try row.decode(column: "user_id", as: UUID.self),
            email: try row.decode(column: "email", as: String.self),
            role: try row.decode(column: "role", as: AccountRole.self),
            status: try row.decode(column: "status", as: AccountStatus.self),
            emailVerified: try row.decode(column: "email_verified_at", as: Date?.self) != nil)
    }

    /// Whether the key is still live (not revoked) and its user still active: a response that
    /// runs for minutes (an event stream) asks again as it goes.
    public static func isLive(keyID: UUID, on db: any Database) async throws -> Bool {
        try await sqlDatabase(db).raw(
            """
            SELECT k.id FROM api_keys k JOIN users u ON u.id = k.user_id
            WHERE k.id = \(bind: keyID) AND k.revoked_at IS NULL AND u.status = \(unsafeRaw: AccountStatus.active.sql)
            """
        ).first() != nil
    }

    /// Records when the key was last used.
    public static func markUsed(_ keyID: UUID, at now: Date, on db: any Database) async throws {
        try await sqlDatabase(db).raw("UPDATE api_keys SET last_used_at = \(bind: now) WHERE id = \(bind: keyID)").run()
    }

    public static func insert(_ key: APIKeyModel, on db: any Database) async throws {
        try await key.create(on: db)
    }

    /// The account's keys that are not revoked, newest first.
    public static func live(of userID: UUID, on db: any Database) async throws -> [APIKeyModel] {
        try await APIKeyModel.query(on: db)
            .filter(\.$userID == userID).filter(\.$revokedAt == nil).sort(\.$createdAt, .descending).all()
    }

    /// Revokes one of the account's keys; false when it has no such live key.
    public static func revoke(_ keyID: UUID, of userID: UUID, now: Date, on db: any Database) async throws -> Bool {
        try await sqlDatabase(db).raw(
            """
            UPDATE api_keys SET revoked_at = \(bind: now)
            WHERE id = \(bind: keyID) AND user_id = \(bind: userID) AND revoked_at IS NULL RETURNING id
            """
        ).first() != nil
    }

    /// Revokes every live key of the account (a password reset: whoever had it may have made some).
    public static func revokeAll(of userID: UUID, now: Date, on db: any Database) async throws {
        try await APIKeyModel.query(on: db).filter(\.$userID == userID).filter(\.$revokedAt == nil)
            .set(\.$revokedAt, to: now).update()
    }
}

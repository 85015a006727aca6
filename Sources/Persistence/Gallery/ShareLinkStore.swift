import Domain
import FluentKit
import Foundation
import SQLKit

/// A share link as stored: only the SHA-256 of its secret token.
public struct ShareLink: Sendable, Equatable {
    public let id: UUID
    public let userID: UUID
    public let generationID: UUID
    public let tokenHash: String
    public let showsPrompt: Bool
    public let createdAt: Date
    public let expiresAt: Date?
    public let revokedAt: Date?

    public init(
        id: UUID = UUID(), userID: UUID, generationID: UUID, tokenHash: String, showsPrompt: Bool, createdAt: Date, expiresAt: Date?,
        revokedAt: Date? = nil
    ) {
        self.id = id
        self.userID = userID
        self.generationID = generationID
        self.tokenHash = tokenHash
        self.showsPrompt = showsPrompt
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
    }

    /// Whether the link opens at `now`.
    public func isLive(at now: Date) -> Bool {
        revokedAt == nil && (expiresAt.map { now < $0 } ?? true)
    }
}

public enum ShareLinkStore {
    public static func insert(_ link: ShareLink, on db: any Database) async throws {
        try await sqlDatabase(db).raw(
            """
            INSERT INTO share_links (id, user_id, generation_id, token_hash, shows_prompt, created_at, expires_at, revoked_at)
            VALUES (\(bind: link.id), \(bind: link.userID), \(bind: link.generationID), \(bind: link.tokenHash),
                    \(bind: link.showsPrompt), \(bind: link.createdAt), \(bind: link.expiresAt), \(bind: link.revokedAt))
            """
        ).run()
    }

    /// The link with this token hash whose generation still exists and is not deleted, and
    /// whose owner's account is active (a suspended account's links stop working with it).
    public static func find(tokenHash: String, on db: any Database) async throws -> ShareLink? {
        try await sqlDatabase(db).raw(
            """
            SELECT s.* FROM share_links s
            JOIN generations g ON g.id = s.generation_id
            JOIN users u ON u.id = s.user_id
            WHERE s.token_hash = \(bind: tokenHash) AND g.deleted_at IS NULL AND u.status = \(unsafeRaw: AccountStatus.active.sql)
            """
        ).first().map(link(from:))
    }

    /// The owner's links for one generation, newest first.
    public static func links(for generationID: UUID, of userID: UUID, on db: any Database) async throws -> [ShareLink] {
        try await sqlDatabase(db).raw(
            """
            SELECT * FROM share_links WHERE generation_id = \(bind: generationID) AND user_id = \(bind: userID)
            ORDER BY created_at DESC, id DESC
            """
        ).all().map(link(from:))
    }

    /// Revokes the owner's link. False when they have no such live link.
    public static func revoke(_ id: UUID, of userID: UUID, now: Date, on db: any Database) async throws -> Bool {
        try await sqlDatabase(db).raw(
            """
            UPDATE share_links SET revoked_at = \(bind: now)
            WHERE id = \(bind: id) AND user_id = \(bind: userID) AND revoked_at IS NULL RETURNING id
            """
        ).first() != nil
    }

    private static func link(from row: any SQLRow) throws -> ShareLink {
        ShareLink(
            id: try row.decode(column: "id", as: UUID.self), userID: try row.decode(column: "user_id", as: UUID.self),
            generationID: try row.decode(column: "generation_id", as: UUID.self),
            tokenHash: try row.decode(column: "token_hash", as: String.self),
            showsPrompt: try row.decode(column: "shows_prompt", as: Bool.self),
            createdAt: try row.decode(column: "created_at", as: Date.self),
            expiresAt: try row.decode(column: "expires_at", as: Date?.self),
            revokedAt: try row.decode(column: "revoked_at", as: Date?.self))
    }
}

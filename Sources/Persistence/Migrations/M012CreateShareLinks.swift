import FluentKit
import SQLKit

/// Migration 012: share links. The link's secret is never stored, only its SHA-256, so a
/// copy of the database cannot open anyone's shared images.
struct M012CreateShareLinks: AsyncMigration {
    var name: String { "012_create_share_links" }

    func prepare(on database: any Database) async throws {
        try await database.schema("share_links")
            .id()
            .field("user_id", .uuid, .required, .references("users", "id", onDelete: .cascade))
            .field("generation_id", .uuid, .required, .references("generations", "id", onDelete: .cascade))
            .field("token_hash", .string, .required)
            .field("shows_prompt", .bool, .required)
            .field("created_at", .datetime, .required)
            .field("expires_at", .datetime)
            .field("revoked_at", .datetime)
            .unique(on: "token_hash")
            .create()
        try await sqlDatabase(database).raw("CREATE INDEX share_links_generation ON share_links (generation_id, created_at)").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("share_links").delete()
    }
}

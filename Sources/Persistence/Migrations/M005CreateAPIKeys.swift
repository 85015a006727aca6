import FluentKit
import SQLKit

/// Migration 005: personal API keys.
struct M005CreateAPIKeys: AsyncMigration {
    var name: String { "005_create_api_keys" }

    func prepare(on database: any Database) async throws {
        try await database.schema("api_keys")
            .id()
            .field("user_id", .uuid, .required, .references("users", "id", onDelete: .cascade))
            .field("name", .string, .required)
            .field("prefix", .string, .required)
            .field("key_hash", .string, .required)
            .field("scopes", .string, .required)
            .field("created_at", .datetime, .required)
            .field("last_used_at", .datetime)
            .field("revoked_at", .datetime)
            .unique(on: "prefix", name: "api_keys_prefix_unique")
            .create()
        try await sqlDatabase(database).raw("CREATE INDEX api_keys_user ON api_keys (user_id)").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("api_keys").delete()
    }
}

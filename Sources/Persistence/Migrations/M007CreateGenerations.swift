import FluentKit
import SQLKit

/// Migration 007: per-user content keys, generations, their images, and reference uploads.
struct M007CreateGenerations: AsyncMigration {
    var name: String { "007_create_generations" }

    func prepare(on database: any Database) async throws {
        // One row per user: that user's content key, sealed under the server key.
        // Deleting the row makes every prompt and image of the user unreadable.
        try await database.schema("content_keys")
            .field("id", .uuid, .identifier(auto: false), .references("users", "id", onDelete: .cascade))
            .field("sealed_key", .string, .required)
            .field("created_at", .datetime, .required)
            .create()

        try await database.schema("generations")
            .id()
            .field("user_id", .uuid, .required, .references("users", "id", onDelete: .cascade))
            .field("model", .string, .required)
            .field("prompt_sealed", .string, .required)
            .field("negative_prompt_sealed", .string, .required)
            .field("width", .int, .required)
            .field("height", .int, .required)
            .field("count", .int, .required)
            .field("seed", .int64, .required)
            .field("style", .string, .required)
            .field("reference_ids", .string, .required)
            .field("state", .string, .required)
            .field("reason", .string)
            .field("progress", .double, .required)
            .field("price_per_image", .int, .required)
            .field("credits_held", .int, .required)
            .field("credits_charged", .int, .required)
            .field("idempotency_key", .string)
            .field("request_hash", .string, .required)
            .field("job_id", .uuid)
            .field("created_at", .datetime, .required)
            .field("started_at", .datetime)
            .field("finished_at", .datetime)
            .field("updated_at", .datetime, .required)
            .unique(on: "user_id", "idempotency_key", name: "generations_idempotency_unique")
            .create()
        let sql = try sqlDatabase(database)
        try await sql.raw("CREATE INDEX generations_user_created ON generations (user_id, created_at, id)").run()
        try await sql.raw("CREATE INDEX generations_state ON generations (state, created_at)").run()

        try await database.schema("generation_images")
            .id()
            .field("generation_id", .uuid, .required, .references("generations", "id", onDelete: .cascade))
            .field("user_id", .uuid, .required, .references("users", "id", onDelete: .cascade))
            .field("position", .int, .required)
            .field("blob_key", .string, .required)
            .field("thumbnail_key", .string, .required)
            .field("format", .string, .required)
            .field("width", .int, .required)
            .field("height", .int, .required)
            .field("bytes", .int, .required)
            .field("thumbnail_bytes", .int, .required)
            .field("sha256", .string, .required)
            .field("digital_source_type", .string, .required)
            .field("created_at", .datetime, .required)
            .unique(on: "generation_id", "position", name: "generation_images_position_unique")
            .create()
        try await sql.raw("CREATE INDEX generation_images_user ON generation_images (user_id, created_at)").run()

        try await database.schema("reference_images")
            .id()
            .field("user_id", .uuid, .required, .references("users", "id", onDelete: .cascade))
            .field("blob_key", .string, .required)
            .field("format", .string, .required)
            .field("width", .int, .required)
            .field("height", .int, .required)
            .field("bytes", .int, .required)
            .field("sha256", .string, .required)
            .field("created_at", .datetime, .required)
            .create()
        try await sql.raw("CREATE INDEX reference_images_user ON reference_images (user_id, created_at)").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("reference_images").delete()
        try await database.schema("generation_images").delete()
        try await database.schema("generations").delete()
        try await database.schema("content_keys").delete()
    }
}

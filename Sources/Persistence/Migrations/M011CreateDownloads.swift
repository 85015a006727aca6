import FluentKit
import SQLKit

/// Migration 011: downloads, one row each time a person downloads one of their images
/// (which image, in which format, when): the download activity the gallery records.
struct M011CreateDownloads: AsyncMigration {
    var name: String { "011_create_downloads" }

    func prepare(on database: any Database) async throws {
        try await database.schema("downloads")
            .id()
            .field("user_id", .uuid, .required, .references("users", "id", onDelete: .cascade))
            .field("image_id", .uuid, .required)
            .field("generation_id", .uuid, .required)
            .field("format", .string, .required)
            .field("created_at", .datetime, .required)
            .create()
        try await sqlDatabase(database).raw("CREATE INDEX downloads_user ON downloads (user_id, created_at)").run()
        try await sqlDatabase(database).raw("CREATE INDEX downloads_created ON downloads (created_at)").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("downloads").delete()
    }
}

import FluentKit
import SQLKit

/// Migration 013: `reference_images.generation_id`, set for images uploaded with a studio
/// form, so that they go when that generation is deleted for good. Images uploaded through
/// the API stay until their owner deletes them.
struct M013AddReferenceGeneration: AsyncMigration {
    var name: String { "013_add_reference_generation" }

    func prepare(on database: any Database) async throws {
        try await database.schema("reference_images").field("generation_id", .uuid).update()
        try await sqlDatabase(database).raw("CREATE INDEX reference_images_generation ON reference_images (generation_id)").run()
    }

    func revert(on database: any Database) async throws {
        try await sqlDatabase(database).raw("DROP INDEX IF EXISTS reference_images_generation").run()
        try await database.schema("reference_images").deleteField("generation_id").update()
    }
}

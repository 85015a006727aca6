import FluentKit
import SQLKit

/// Migration 009: disclosures, one row each time a person's data went to a processor
/// (an image provider), for "who received my data" in the privacy centre.
struct M009CreateDisclosures: AsyncMigration {
    var name: String { "009_create_disclosures" }

    func prepare(on database: any Database) async throws {
        try await database.schema("disclosures")
            .id()
            .field("user_id", .uuid, .required, .references("users", "id", onDelete: .cascade))
            .field("generation_id", .uuid)
            .field("processor", .string, .required)
            .field("purpose", .string, .required)
            .field("categories", .string, .required)
            .field("created_at", .datetime, .required)
            .create()
        try await sqlDatabase(database).raw("CREATE INDEX disclosures_user ON disclosures (user_id, created_at)").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("disclosures").delete()
    }
}

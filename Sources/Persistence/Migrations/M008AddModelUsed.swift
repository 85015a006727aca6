import FluentKit

/// Migration 008: which model delivered a generation (its fallback, when the chosen one failed).
struct M008AddModelUsed: AsyncMigration {
    var name: String { "008_add_generation_model_used" }

    func prepare(on database: any Database) async throws {
        try await database.schema("generations").field("model_used", .string).update()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("generations").deleteField("model_used").update()
    }
}

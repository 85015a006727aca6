import FluentKit

/// Migration 006: a one-time code can name what it confirms (the new address of an email change).
struct M006AddCodeTarget: AsyncMigration {
    var name: String { "006_add_code_target" }

    func prepare(on database: any Database) async throws {
        try await database.schema("one_time_codes").field("target", .string).update()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("one_time_codes").deleteField("target").update()
    }
}

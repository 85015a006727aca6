import FluentKit
import SQLKit

/// Migration 004: TOTP two-factor sign-in and recovery codes.
struct M004AddTwoFactor: AsyncMigration {
    var name: String { "004_add_two_factor" }

    func prepare(on database: any Database) async throws {
        // One column per ALTER TABLE: SQLite adds a single column per statement.
        try await database.schema("users").field("totp_secret", .string).update()
        try await database.schema("users").field("totp_enabled_at", .datetime).update()
        try await database.schema("users").field("totp_last_step", .int64).update()
        try await database.schema("recovery_codes")
            .id()
            .field("user_id", .uuid, .required, .references("users", "id", onDelete: .cascade))
            .field("code_hash", .string, .required)
            .field("used_at", .datetime)
            .field("created_at", .datetime, .required)
            .create()
        try await sqlDatabase(database).raw("CREATE INDEX recovery_codes_user ON recovery_codes (user_id)").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("recovery_codes").delete()
        for column in ["totp_secret", "totp_enabled_at", "totp_last_step"] {
            try await database.schema("users").deleteField(.key(.init(stringLiteral: column))).update()
        }
    }
}

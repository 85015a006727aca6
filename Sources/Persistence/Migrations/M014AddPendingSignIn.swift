import FluentKit

/// Migration 014: the SHA-256 of the one pending two-factor sign-in's nonce, so the cookie
/// between password and second factor works once (it is cleared when used).
struct M014AddPendingSignIn: AsyncMigration {
    var name: String { "014_add_pending_sign_in" }

    func prepare(on database: any Database) async throws {
        try await database.schema("users").field("pending_sign_in", .string).update()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("users").deleteField("pending_sign_in").update()
    }
}

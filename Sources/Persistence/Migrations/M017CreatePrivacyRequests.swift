import FluentKit
import FluentSQL
import SQLKit

/// Migration 017: privacy rights requests and the processing restrictions people set. Request
/// records are kept 24 months and used for nothing else (they outlive an erased account, without
/// it); a restriction lasts until the person lifts it, one row per person and kind.
struct M017CreatePrivacyRequests: AsyncMigration {
    var name: String { "017_create_privacy_requests" }

    func prepare(on database: any Database) async throws {
        try await database.schema("privacy_requests")
            .id()
            .field("user_id", .uuid, .references("users", "id", onDelete: .setNull))
            .field("email", .string)
            .field("kind", .string, .required)
            .field("channel", .string, .required)
            .field("jurisdiction", .string, .required)
            .field("state", .string, .required)
            .field("detail", .string)
            // Calendar days (YYYY-MM-DD, UTC): the clock the law counts in.
            .field("received_on", .string, .required)
            .field("confirm_by", .string)
            .field("due_by", .string, .required)
            .field("extended_due_by", .string)
            .field("extension_reason", .string)
            .field("outcome", .string)
            .field("denial_basis", .string)
            .field("appeal_of", .uuid)
            .field("decided_by", .uuid)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .create()
        try await database.schema("processing_restrictions")
            .id()
            .field("user_id", .uuid, .required, .references("users", "id", onDelete: .cascade))
            .field("kind", .string, .required)
            .field("request_id", .uuid)
            .field("created_at", .datetime, .required)
            .unique(on: "user_id", "kind")
            .create()
        let sql = try sqlDatabase(database)
        try await sql.raw("CREATE INDEX privacy_requests_user ON privacy_requests (user_id, created_at)").run()
        try await sql.raw("CREATE INDEX privacy_requests_state ON privacy_requests (state, due_by)").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("processing_restrictions").delete()
        try await database.schema("privacy_requests").delete()
    }
}

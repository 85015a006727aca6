import FluentKit
import SQLKit

/// Migration 003: users, sessions, one-time codes, login throttles and the audit log.
struct M003CreateAccounts: AsyncMigration {
    var name: String { "003_create_accounts" }

    func prepare(on database: any Database) async throws {
        try await database.schema("users")
            .id()
            .field("email", .string, .required)
            .field("email_verified_at", .datetime)
            .field("password_hash", .string, .required)
            .field("role", .string, .required)
            .field("status", .string, .required)
            .field("terms_version", .string, .required)
            .field("privacy_version", .string, .required)
            .field("terms_accepted_at", .datetime, .required)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .unique(on: "email", name: "users_email_unique")
            .create()
        try await database.schema("sessions")
            .id()
            .field("user_id", .uuid, .required, .references("users", "id", onDelete: .cascade))
            .field("token_hash", .string, .required)
            .field("csrf_token", .string, .required)
            .field("created_at", .datetime, .required)
            .field("last_seen_at", .datetime, .required)
            .field("authenticated_at", .datetime, .required)
            .field("remember", .bool, .required)
            .field("device", .string, .required)
            .field("ip_prefix", .string, .required)
            .field("revoked_at", .datetime)
            .unique(on: "token_hash", name: "sessions_token_hash_unique")
            .create()
        try await database.schema("one_time_codes")
            .id()
            .field("user_id", .uuid, .required, .references("users", "id", onDelete: .cascade))
            .field("purpose", .string, .required)
            .field("code_hash", .string, .required)
            .field("expires_at", .datetime, .required)
            .field("used_at", .datetime)
            .field("attempts", .int, .required)
            .field("created_at", .datetime, .required)
            .create()
        try await database.schema("login_throttles")
            .field("key", .string, .identifier(auto: false))
            .field("failures", .int, .required)
            .field("locked_until", .datetime)
            .field("updated_at", .datetime, .required)
            .create()
        try await database.schema("audit_log")
            .id()
            .field("occurred_at", .datetime, .required)
            .field("actor_user_id", .uuid)
            .field("action", .string, .required)
            .field("target_type", .string)
            .field("target_id", .string)
            .field("ip_prefix", .string, .required)
            .field("detail", .string, .required)
            .create()
        let sql = try sqlDatabase(database)
        try await sql.raw("CREATE INDEX sessions_user ON sessions (user_id)").run()
        try await sql.raw("CREATE INDEX one_time_codes_user ON one_time_codes (user_id, purpose)").run()
        try await sql.raw("CREATE INDEX audit_log_time ON audit_log (occurred_at)").run()
        try await sql.raw("CREATE INDEX audit_log_actor ON audit_log (actor_user_id)").run()
    }

    func revert(on database: any Database) async throws {
        for table in ["audit_log", "login_throttles", "one_time_codes", "sessions", "users"] {
            try await database.schema(table).delete()
        }
    }
}

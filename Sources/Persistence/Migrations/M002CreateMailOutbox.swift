import FluentKit
import SQLKit

/// Migration 002: the mail outbox. A message is written here in the same transaction
/// as the change it reports; the job worker sends it, so a mail failure never fails a request.
struct M002CreateMailOutbox: AsyncMigration {
    var name: String { "002_create_mail_outbox" }

    func prepare(on database: any Database) async throws {
        try await database.schema("mail_outbox")
            .id()
            .field("user_id", .uuid)
            .field("recipient", .string, .required)
            .field("subject", .string, .required)
            .field("body_text", .string, .required)
            .field("body_html", .string)
            .field("category", .string, .required)
            .field("created_at", .datetime, .required)
            .field("sent_at", .datetime)
            .create()
        try await sqlDatabase(database).raw("CREATE INDEX mail_outbox_user ON mail_outbox (user_id)").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("mail_outbox").delete()
    }
}

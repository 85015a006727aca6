import FluentKit
import FluentSQL
import SQLKit

/// Migration 015: credits. A wallet per person (`id` is the user's id) caches what is available
/// and what is held; the database refuses a wallet below zero (CHECK), and a hold is one
/// conditional UPDATE, so submissions at once can never spend the same credit twice. Lots are
/// what is left of each purchase or grant (free ones may expire); hold parts record which lots a
/// generation's hold drew from; ledger entries are never changed, and their sums equal the wallet.
struct M015CreateLedger: AsyncMigration {
    var name: String { "015_create_ledger" }

    func prepare(on database: any Database) async throws {
        try await database.schema("wallets")
            .field("id", .uuid, .identifier(auto: false), .references("users", "id", onDelete: .cascade))
            .field("available", .int64, .required)
            .field("held", .int64, .required)
            .field("updated_at", .datetime, .required)
            .constraint(.sql(raw: "CHECK (available >= 0 AND held >= 0)"))
            .create()
        try await database.schema("credit_lots")
            .id()
            .field("user_id", .uuid, .required, .references("users", "id", onDelete: .cascade))
            .field("source", .string, .required)
            .field("granted", .int64, .required)
            .field("remaining", .int64, .required)
            .field("expires_at", .datetime)
            .field("order_id", .uuid)
            .field("reason", .string)
            .field("created_at", .datetime, .required)
            .constraint(.sql(raw: "CHECK (remaining >= 0 AND remaining <= granted AND granted > 0)"))
            .create()
        try await database.schema("credit_hold_parts")
            .id()
            .field("user_id", .uuid, .required, .references("users", "id", onDelete: .cascade))
            .field("generation_id", .uuid, .required)
            .field("lot_id", .uuid, .required, .references("credit_lots", "id", onDelete: .cascade))
            // Drawn in this order (free first); spent in the same order when the generation settles.
            .field("position", .int, .required)
            .field("amount", .int64, .required)
            .field("settled_at", .datetime)
            .constraint(.sql(raw: "CHECK (amount > 0)"))
            .create()
        // Payment records outlive an erased account (kept for the tax period): the entry stays,
        // without the person.
        try await database.schema("ledger_entries")
            .id()
            .field("user_id", .uuid, .references("users", "id", onDelete: .setNull))
            .field("kind", .string, .required)
            .field("available_delta", .int64, .required)
            .field("held_delta", .int64, .required)
            .field("generation_id", .uuid)
            .field("order_id", .uuid)
            .field("lot_id", .uuid)
            .field("reason", .string)
            .field("created_at", .datetime, .required)
            .create()
        let sql = try sqlDatabase(database)
        try await sql.raw("CREATE INDEX credit_lots_user ON credit_lots (user_id, remaining)").run()
        try await sql.raw("CREATE INDEX credit_hold_parts_generation ON credit_hold_parts (generation_id)").run()
        try await sql.raw("CREATE INDEX ledger_entries_user ON ledger_entries (user_id, created_at)").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("ledger_entries").delete()
        try await database.schema("credit_hold_parts").delete()
        try await database.schema("credit_lots").delete()
        try await database.schema("wallets").delete()
    }
}

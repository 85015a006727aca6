import FluentKit
import FluentSQL
import SQLKit

/// Migration 016: buying credits. An order is one checkout of one pack: its state, the
/// processor's references (never card data: the processor's card fingerprint and risk verdict
/// at most), what was refunded, and any dispute. Payment events are stored by the processor's
/// event id, unique, so a delivery that comes again changes nothing. Refund requests carry the
/// person's reason and staff's decision. A lot's frozen credits are those a dispute holds back.
/// Orders and refund requests are payment records: they outlive an erased account, without it.
struct M016CreateOrders: AsyncMigration {
    var name: String { "016_create_orders" }

    func prepare(on database: any Database) async throws {
        try await database.schema("orders")
            .id()
            .field("user_id", .uuid, .references("users", "id", onDelete: .setNull))
            .field("pack_id", .string, .required)
            .field("credits", .int64, .required)
            .field("amount_minor", .int64, .required)
            .field("currency", .string, .required)
            .field("state", .string, .required)
            .field("provider", .string, .required)
            .field("checkout_reference", .string)
            .field("payment_reference", .string)
            .field("refunded_minor", .int64, .required)
            .field("card_fingerprint", .string)
            .field("risk_level", .string)
            .field("fraud_flags", .string, .required)
            .field("network", .string)
            .field("lot_id", .uuid)
            .field("dispute_reference", .string)
            .field("dispute_status", .string)
            .field("created_at", .datetime, .required)
            .field("paid_at", .datetime)
            .field("updated_at", .datetime, .required)
            .constraint(.sql(raw: "CHECK (credits > 0 AND amount_minor > 0 AND refunded_minor >= 0 AND refunded_minor <= amount_minor)"))
            .create()
        try await database.schema("payment_events")
            .id()
            .field("provider", .string, .required)
            .field("event_id", .string, .required)
            .field("type", .string, .required)
            .field("order_id", .uuid)
            .field("received_at", .datetime, .required)
            .unique(on: "provider", "event_id")
            .create()
        try await database.schema("refund_requests")
            .id()
            .field("order_id", .uuid, .required, .references("orders", "id", onDelete: .cascade))
            .field("user_id", .uuid, .references("users", "id", onDelete: .setNull))
            .field("reason", .string, .required)
            .field("state", .string, .required)
            .field("decided_by", .uuid)
            .field("decision_note", .string)
            .field("credits_taken", .int64, .required)
            .field("amount_refunded_minor", .int64, .required)
            .field("created_at", .datetime, .required)
            .field("decided_at", .datetime)
            .create()
        try await database.schema("credit_lots")
            .field("frozen", .int64, .required, .sql(.default(0)))
            .update()
        let sql = try sqlDatabase(database)
        try await sql.raw("CREATE INDEX orders_user ON orders (user_id, created_at)").run()
        try await sql.raw("CREATE INDEX orders_payment ON orders (payment_reference)").run()
        try await sql.raw("CREATE INDEX orders_fingerprint ON orders (card_fingerprint, created_at)").run()
        try await sql.raw("CREATE INDEX orders_network ON orders (network, created_at)").run()
        // One open request per order, whatever races: a second is refused by the database.
        try await sql.raw(
            "CREATE UNIQUE INDEX refund_requests_open ON refund_requests (order_id) WHERE state IN ('requested', 'processing')"
        ).run()
        try await sql.raw("CREATE INDEX refund_requests_state ON refund_requests (state, created_at)").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("credit_lots").deleteField("frozen").update()
        try await database.schema("refund_requests").delete()
        try await database.schema("payment_events").delete()
        try await database.schema("orders").delete()
    }
}

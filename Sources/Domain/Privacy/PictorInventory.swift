extension DataInventory {
    /// Pictor's inventory. Add a `TablePolicy` here in the same change that adds a table
    /// or a column; `InventoryMatchesSchemaTests` fails until you do.
    public static let pictor = DataInventory(tables: [
        TablePolicy(
            table: "jobs",
            purpose: "The durable job queue. Payloads carry ids of other rows, never personal data itself.",
            columns: Dictionary(uniqueKeysWithValues: [
                "id", "kind", "payload", "state", "run_at", "attempts", "max_attempts", "lease_owner",
                "lease_expires_at", "last_error", "created_at", "updated_at", "finished_at",
            ].map { ($0, ColumnPolicy.operationalLog(days: 30)) })
        ),
        TablePolicy(
            table: "mail_outbox",
            purpose: "Service emails (account, security, payment, policy) waiting to be sent, kept 30 days.",
            columns: [
                "id": .operationalLog(days: 30),
                "user_id": ColumnPolicy(
                    category: "user.unique_id", use: .essentialService,
                    retention: .days(30), exported: false, erasure: .deleteRow),
                "recipient": ColumnPolicy(
                    category: "user.contact.email", use: .essentialService,
                    retention: .days(30), exported: true, erasure: .deleteRow),
                "subject": ColumnPolicy(
                    category: "user.content.private", use: .essentialService,
                    retention: .days(30), exported: true, erasure: .deleteRow),
                "body_text": ColumnPolicy(
                    category: "user.content.private", use: .essentialService,
                    retention: .days(30), exported: true, erasure: .deleteRow),
                "body_html": ColumnPolicy(
                    category: "user.content.private", use: .essentialService,
                    retention: .days(30), exported: true, erasure: .deleteRow),
                "category": .operationalLog(days: 30),
                "created_at": .operationalLog(days: 30),
                "sent_at": .operationalLog(days: 30),
            ]
        ),
        TablePolicy(
            table: "_fluent_migrations",
            purpose: "Which schema migrations have run (Fluent's own bookkeeping).",
            columns: [
                "id": .operational,
                "name": .operational,
                "batch": .operational,
                "created_at": .operational,
                "updated_at": .operational,
            ]
        ),
    ])
}

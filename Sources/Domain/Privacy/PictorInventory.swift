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

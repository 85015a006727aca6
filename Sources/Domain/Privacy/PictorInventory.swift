extension DataInventory {
    /// Pictor's inventory. Add a `TablePolicy` here in the same change that adds a table
    /// or a column; `InventoryMatchesSchemaTests` fails until you do.
    public static let pictor = DataInventory(tables: [
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

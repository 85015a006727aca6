import Domain
import Testing

@Suite struct DataInventoryTests {
    let inventory = DataInventory(tables: [
        TablePolicy(table: "users", purpose: "accounts", columns: [
            "id": .operational,
            "email": ColumnPolicy(
                category: "user.contact.email", use: .essentialService,
                retention: .lifeOfAccount, exported: true, erasure: .deleteRow),
        ]),
    ])

    @Test func matchingSchemaHasNoFindings() {
        let schema = [TableSchema(table: "users", columns: ["id", "email"])]
        #expect(inventory.findings(comparedWith: schema).isEmpty)
    }

    @Test func unclassifiedTableAndColumnAreReported() {
        let schema = [
            TableSchema(table: "users", columns: ["id", "email", "phone"]),
            TableSchema(table: "orders", columns: ["id"]),
        ]
        #expect(inventory.findings(comparedWith: schema) == [
            .unclassifiedTable("orders"),
            .unclassifiedColumn(table: "users", column: "phone"),
        ])
    }

    @Test func classifiedButDroppedColumnIsReported() {
        let schema = [TableSchema(table: "users", columns: ["id"])]
        #expect(inventory.findings(comparedWith: schema) == [.classifiedColumnMissing(table: "users", column: "email")])
        #expect(inventory.findings(comparedWith: []) == [.classifiedTableMissing("users")])
    }

    @Test func personalColumnsAreTheUserCategories() {
        let personal = inventory.personalColumns
        #expect(personal.count == 1)
        #expect(personal.first?.column == "email")
        #expect(personal.first?.policy.exported == true)
    }

    @Test func findingsReadAsSentences() {
        #expect(InventoryFinding.unclassifiedColumn(table: "users", column: "phone").description
            == "column users.phone is in the database but not in the data inventory")
    }
}

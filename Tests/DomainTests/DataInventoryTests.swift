import Domain
import Testing

@Suite struct DataInventoryTests {
    let inventory = DataInventory(tables: [
        TablePolicy(
            table: "users", purpose: "accounts", owner: "id",
            columns: [
                "id": .operational,
                "email": ColumnPolicy(
                    category: "user.contact.email", use: .essentialService,
                    retention: .lifeOfAccount, exported: true, erasure: .deleteRow),
            ])
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
        #expect(
            inventory.findings(comparedWith: schema) == [
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

    @Test func aPersonLinkedTableWithNoOwnerIsReported() {
        let personal = ColumnPolicy.account("user.behavior")
        let inventory = DataInventory(tables: [
            TablePolicy(table: "notes", purpose: "notes", columns: ["id": .operational, "user_id": personal, "text": personal]),
            TablePolicy(table: "jobs", purpose: "queue", columns: ["id": .operational]),
        ])
        let schema = [
            TableSchema(table: "notes", columns: ["id", "user_id", "text"]),
            TableSchema(table: "jobs", columns: ["id"]),
        ]
        #expect(inventory.findings(comparedWith: schema) == [.personLinkedTableWithoutOwner("notes")])
        #expect(inventory.ownershipFindings == [.personLinkedTableWithoutOwner("notes")], "a table about no one needs no owner")
        #expect(
            InventoryFinding.personLinkedTableWithoutOwner("notes").description
                == "table notes holds personal data but names no owner column in the data inventory")
    }

    @Test func anOwnerOrBlobKeyThatIsNoColumnIsReported() {
        let personal = ColumnPolicy.account("user.content.private")
        let inventory = DataInventory(tables: [
            TablePolicy(
                table: "images", purpose: "images", owner: "owner_id", blobKeyColumns: ["blob"],
                columns: ["id": .operational, "user_id": personal, "blob_key": personal])
        ])
        let schema = [TableSchema(table: "images", columns: ["id", "user_id", "blob_key"])]
        #expect(
            inventory.findings(comparedWith: schema) == [
                .ownerNotAColumn(table: "images", column: "owner_id"),
                .blobKeyNotAColumn(table: "images", column: "blob"),
            ])
    }

    /// A table whose personal rows cannot be tied to an account says why, and is not reported.
    @Test func aStatedReasonStandsForTheOwner() {
        let inventory = DataInventory(tables: [
            TablePolicy(
                table: "throttles", purpose: "counts", ownerlessBecause: "keyed by a hashed email",
                columns: ["key": .shortLived("user.device.ip_address", days: 1, exported: false)])
        ])
        #expect(inventory.findings(comparedWith: [TableSchema(table: "throttles", columns: ["key"])]).isEmpty)
        #expect(inventory.ownershipFindings.isEmpty)
    }

    @Test func thePictorInventoryNamesAnOwnerForEveryPersonLinkedTable() {
        #expect(DataInventory.pictor.ownershipFindings.isEmpty, "\(DataInventory.pictor.ownershipFindings.map(\.description))")
        #expect(DataInventory.pictor.policy(table: "users")?.owner == "id")
        #expect(DataInventory.pictor.policy(table: "jobs")?.owner == nil)
    }

    @Test func findingsReadAsSentences() {
        #expect(
            InventoryFinding.unclassifiedColumn(table: "users", column: "phone").description
                == "column users.phone is in the database but not in the data inventory")
    }
}

/// Every table and column Pictor stores, with its data category, purpose,
/// retention, export and erasure rule. Export, erasure, retention sweeps and
/// the published privacy page all read this one list; a test compares it with
/// the live schema of both database engines, so a new column cannot be forgotten.
public struct DataInventory: Sendable {
    public let tables: [TablePolicy]

    /// How long payment records (orders, refunds, ledger entries) are kept: seven years, a
    /// common tax period. The retention sweep (with its setting) comes with the retention work.
    public static let paymentRecordsDays = 7 * 365

    /// How long records of privacy requests are kept: 24 months (CCPA regulations, 11 CCR §7101).
    public static let requestRecordsDays = 730

    public init(tables: [TablePolicy]) {
        self.tables = tables
    }

    public func policy(table: String) -> TablePolicy? {
        tables.first { $0.table == table }
    }

    /// Every difference between this inventory and a live schema, then every gap in who owns
    /// which rows (`ownershipFindings`), in a stable order.
    public func findings(comparedWith schema: [TableSchema]) -> [InventoryFinding] {
        var findings: [InventoryFinding] = []
        let live = Dictionary(schema.map { ($0.table, Set($0.columns)) }, uniquingKeysWith: { $0.union($1) })
        for table in schema.sorted(by: { $0.table < $1.table }) {
            guard let policy = policy(table: table.table) else {
                findings.append(.unclassifiedTable(table.table))
                continue
            }
            for column in table.columns.sorted() where policy.columns[column] == nil {
                findings.append(.unclassifiedColumn(table: table.table, column: column))
            }
        }
        for policy in tables.sorted(by: { $0.table < $1.table }) {
            guard let columns = live[policy.table] else {
                findings.append(.classifiedTableMissing(policy.table))
                continue
            }
            for column in policy.columns.keys.sorted() where !columns.contains(column) {
                findings.append(.classifiedColumnMissing(table: policy.table, column: column))
            }
        }
        return findings + ownershipFindings
    }

    /// What stops a person's data map from finding every row and blob of theirs: a table with
    /// personal data that names no owner, or an owner or blob key column the table does not have.
    public var ownershipFindings: [InventoryFinding] {
        var findings: [InventoryFinding] = []
        for policy in tables.sorted(by: { $0.table < $1.table }) {
            if let owner = policy.owner {
                if policy.columns[owner] == nil {
                    findings.append(.ownerNotAColumn(table: policy.table, column: owner))
                }
            } else if policy.isPersonLinked && policy.ownerlessBecause == nil {
                findings.append(.personLinkedTableWithoutOwner(policy.table))
            }
            for column in policy.blobKeyColumns where policy.columns[column] == nil {
                findings.append(.blobKeyNotAColumn(table: policy.table, column: column))
            }
        }
        return findings
    }

    /// The tables whose rows belong to a person, found through their owner column, sorted by name.
    public var ownedTables: [TablePolicy] {
        tables.filter { $0.owner != nil }.sorted { $0.table < $1.table }
    }

    /// The personal-data columns, for the privacy page and the access export.
    public var personalColumns: [(table: String, column: String, policy: ColumnPolicy)] {
        tables.flatMap { table in
            table.columns.sorted { $0.key < $1.key }
                .filter { $0.value.category.isPersonal }
                .map { (table.table, $0.key, $0.value) }
        }
    }
}

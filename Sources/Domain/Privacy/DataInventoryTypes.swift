/// A fideslang data category, e.g. `user.contact.email` or `system.operations`.
public struct DataCategory: RawRepresentable, Hashable, Sendable, Codable, ExpressibleByStringLiteral {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }

    /// True for data about a person (fideslang's `user.*` categories).
    public var isPersonal: Bool { rawValue.hasPrefix("user.") }

    public static let systemOperations: DataCategory = "system.operations"
}

/// A fideslang data use (the purpose), e.g. `essential.service`.
public struct DataUse: RawRepresentable, Hashable, Sendable, Codable, ExpressibleByStringLiteral {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }

    public static let essentialService: DataUse = "essential.service"
    public static let security: DataUse = "essential.service.security"
    public static let legalObligation: DataUse = "essential.legal_obligation"
}

/// How long a value is kept.
public enum Retention: Sendable, Equatable {
    /// Kept while the account exists, erased with it.
    case lifeOfAccount
    /// Deleted this many days after the row's reference time.
    case days(Int)
    /// Operational data about the service itself, not about a person.
    case lifeOfService
}

/// What erasure of a person's data does to this value.
public enum Erasure: Sendable, Equatable {
    case deleteRow
    case setNull
    /// Replaced by a keyed hash, so that equality checks still work.
    case keyedHash
    /// Kept under a stated legal exemption (e.g. tax records).
    case keep(exemption: String)
    /// Not personal data: nothing to erase.
    case notPersonal
}

/// The classification of one column.
public struct ColumnPolicy: Sendable, Equatable {
    public let category: DataCategory
    public let use: DataUse
    public let retention: Retention
    /// Included in the person's access export.
    public let exported: Bool
    public let erasure: Erasure

    public init(category: DataCategory, use: DataUse, retention: Retention, exported: Bool, erasure: Erasure) {
        self.category = category
        self.use = use
        self.retention = retention
        self.exported = exported
        self.erasure = erasure
    }

    /// A column that holds nothing about a person: ids, timestamps of the service's own work.
    public static let operational = ColumnPolicy(
        category: .systemOperations, use: .essentialService,
        retention: .lifeOfService, exported: false, erasure: .notPersonal
    )

    /// Data about the account holder, kept while the account exists and deleted with it.
    public static func account(_ category: DataCategory, exported: Bool = true, use: DataUse = .essentialService) -> ColumnPolicy {
        ColumnPolicy(category: category, use: use, retention: .lifeOfAccount, exported: exported, erasure: .deleteRow)
    }

    /// Personal data kept for a number of days, then deleted (also deleted with the account).
    public static func shortLived(_ category: DataCategory, days: Int, exported: Bool, use: DataUse = .essentialService) -> ColumnPolicy {
        ColumnPolicy(category: category, use: use, retention: .days(days), exported: exported, erasure: .deleteRow)
    }

    /// A payment record (orders, refunds, ledger entries): a legal obligation, kept for the tax
    /// period (`DataInventory.paymentRecordsDays`), through an account's erasure.
    public static func paymentRecord(_ category: DataCategory) -> ColumnPolicy {
        ColumnPolicy(
            category: category, use: .legalObligation, retention: .days(DataInventory.paymentRecordsDays), exported: true,
            erasure: .keep(exemption: "payment records kept for the tax period"))
    }

    /// The person a payment record belongs to: set null when their account is erased (the record stays).
    public static let paymentRecordOwner = ColumnPolicy(
        category: "user.unique_id", use: .legalObligation, retention: .days(DataInventory.paymentRecordsDays), exported: true,
        erasure: .setNull)

    /// Operational data deleted a number of days after the work it records has finished.
    public static func operationalLog(days: Int) -> ColumnPolicy {
        ColumnPolicy(
            category: .systemOperations, use: .essentialService,
            retention: .days(days), exported: false, erasure: .notPersonal)
    }
}

/// The classification of one table and each of its columns.
public struct TablePolicy: Sendable, Equatable {
    public let table: String
    public let purpose: String
    /// The column that holds the id of the person a row belongs to (`user_id`; `id` in `users`
    /// and `content_keys`, whose rows are keyed by the person's id). A person's data map (export,
    /// erasure, retention) finds their rows through it; nil for tables about no one.
    public let owner: String?
    /// The columns whose values are keys in the blob store (images, thumbnails, references): the
    /// blobs a person's rows name are theirs too, and go with them.
    public let blobKeyColumns: [String]
    /// Why a table that holds personal data names no owner: its rows cannot be tied to an
    /// account's id (e.g. they are keyed by a hashed email or a network). Said in a sentence,
    /// so the exception is a decision someone wrote down, not an omission.
    public let ownerlessBecause: String?
    public let columns: [String: ColumnPolicy]

    public init(
        table: String, purpose: String, owner: String? = nil, blobKeyColumns: [String] = [],
        ownerlessBecause: String? = nil, columns: [String: ColumnPolicy]
    ) {
        self.table = table
        self.purpose = purpose
        self.owner = owner
        self.blobKeyColumns = blobKeyColumns
        self.ownerlessBecause = ownerlessBecause
        self.columns = columns
    }

    /// True when any column holds data about a person (a `user.*` category).
    public var isPersonLinked: Bool {
        columns.values.contains { $0.category.isPersonal }
    }
}

/// A table as the live database describes it.
public struct TableSchema: Sendable, Equatable {
    public let table: String
    public let columns: [String]

    public init(table: String, columns: [String]) {
        self.table = table
        self.columns = columns
    }
}

/// A difference between the inventory and the live schema.
public enum InventoryFinding: Sendable, Equatable, CustomStringConvertible {
    case unclassifiedTable(String)
    case unclassifiedColumn(table: String, column: String)
    case classifiedTableMissing(String)
    case classifiedColumnMissing(table: String, column: String)
    /// The table holds personal data but names no owner column (nor why it has none).
    case personLinkedTableWithoutOwner(String)
    /// The table's owner is not one of the columns the inventory classifies for it.
    case ownerNotAColumn(table: String, column: String)
    /// A blob key column is not one of the columns the inventory classifies for the table.
    case blobKeyNotAColumn(table: String, column: String)

    public var description: String {
        switch self {
        case .unclassifiedTable(let t):
            "table \(t) is in the database but not in the data inventory"
        case .unclassifiedColumn(let t, let c):
            "column \(t).\(c) is in the database but not in the data inventory"
        case .classifiedTableMissing(let t):
            "table \(t) is in the data inventory but not in the database"
        case .classifiedColumnMissing(let t, let c):
            "column \(t).\(c) is in the data inventory but not in the database"
        case .personLinkedTableWithoutOwner(let t):
            "table \(t) holds personal data but names no owner column in the data inventory"
        case .ownerNotAColumn(let t, let c):
            "owner \(t).\(c) is not a column of \(t) in the data inventory"
        case .blobKeyNotAColumn(let t, let c):
            "blob key column \(t).\(c) is not a column of \(t) in the data inventory"
        }
    }
}

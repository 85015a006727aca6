import Domain
import FluentKit
import Foundation
import SQLKit

/// Everything the data inventory says belongs to one person: the key of each of their rows,
/// table by table, and the blob keys those rows name. Export, erasure and retention start here.
public struct PersonData: Sendable, Equatable {
    /// Table name → the ids of the person's rows in it (UUIDs lower-cased), sorted. A table in
    /// which the person has no rows is left out.
    public let rows: [String: [String]]
    /// Every blob key the person's rows name (images, thumbnails, references), sorted.
    public let blobKeys: [String]

    public init(rows: [String: [String]], blobKeys: [String]) {
        self.rows = rows
        self.blobKeys = blobKeys
    }

    /// How many rows the person has, over all tables.
    public var rowCount: Int { rows.values.reduce(0) { $0 + $1.count } }
}

/// Finds a person's rows and blobs by walking the data inventory: for each table that names an
/// `owner`, the rows whose owner column holds the person's id, with the values of the table's
/// `blobKeyColumns`. What to read is data (`DataInventory.pictor`), so a table added to the
/// inventory with its owner is mapped without a change here.
public enum PersonDataMap {
    /// The column each owned table is keyed by. Every owned table has an `id` primary key (the
    /// one table keyed otherwise, `login_throttles` by `key`, has no owner); a table that does
    /// not is refused with `PersonDataMapError.noKeyColumn` rather than mapped half-way.
    public static let keyColumn = "id"

    /// The ids of the person's rows in every owned table of `inventory`, and their blob keys.
    /// Run it inside a transaction for a consistent picture across tables (an export does);
    /// table and column names come from the inventory only, and are quoted all the same.
    public static func map(of userID: UUID, inventory: DataInventory = .pictor, on db: any Database) async throws -> PersonData {
        let sql = try sqlDatabase(db)
        var rows: [String: [String]] = [:]
        var blobKeys: Set<String> = []
        for table in inventory.ownedTables {
            guard let owner = table.owner else { continue }
            guard table.columns[keyColumn] != nil else { throw PersonDataMapError.noKeyColumn(table: table.table) }
            var selected: [any SQLExpression] = [SQLIdentifier(keyColumn)]
            selected += table.blobKeyColumns.map { SQLIdentifier($0) as any SQLExpression }
            let found = try await sql.select()
                .columns(selected)
                .from(SQLIdentifier(table.table))
                .where(SQLIdentifier(owner), .equal, SQLBind(userID))
                .all()
            var ids: [String] = []
            for row in found {
                ids.append(try rowID(row))
                for column in table.blobKeyColumns {
                    if let key = try row.decode(column: column, as: String?.self), !key.isEmpty { blobKeys.insert(key) }
                }
            }
            if !ids.isEmpty { rows[table.table] = ids.sorted() }
        }
        return PersonData(rows: rows, blobKeys: blobKeys.sorted())
    }

    /// A row's key as text: a UUID lower-cased (PostgreSQL stores it as `uuid`, SQLite as the
    /// driver encodes it), anything else as the text it is.
    private static func rowID(_ row: any SQLRow) throws -> String {
        if let id = try? row.decode(column: keyColumn, as: UUID.self) { return id.uuidString.lowercased() }
        return try row.decode(column: keyColumn, as: String.self)
    }
}

public enum PersonDataMapError: Error, CustomStringConvertible, Equatable {
    /// The inventory names an owner for a table with no `id` column to list its rows by.
    case noKeyColumn(table: String)

    public var description: String {
        switch self {
        case .noKeyColumn(let table):
            "table \(table) names an owner but has no \(PersonDataMap.keyColumn) column to list a person's rows by"
        }
    }
}

import Domain
import FluentKit
import SQLKit

/// Reads the live schema (tables and their columns) of SQLite or PostgreSQL,
/// so tests can compare it with the data inventory.
public enum SchemaInspector {
    public static func tables(on db: any Database) async throws -> [TableSchema] {
        let sql = try sqlDatabase(db)
        switch sql.dialect.name {
        case "sqlite":
            return try await sqliteTables(sql)
        default:
            return try await postgresTables(sql)
        }
    }

    private static func sqliteTables(_ sql: any SQLDatabase) async throws -> [TableSchema] {
        let rows = try await sql.raw(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        ).all()
        // A full-text index (an FTS5 virtual table and its shadow tables) is an index: what it
        // holds is the column it indexes, classified with that column's table.
        let virtual = try rows.filter { try ($0.decode(column: "sql", as: String?.self) ?? "").hasPrefix("CREATE VIRTUAL TABLE") }
            .map { try $0.decode(column: "name", as: String.self) }
        let shadows = Set(virtual.flatMap { table in ["data", "idx", "docsize", "config", "content"].map { "\(table)_\($0)" } })
        let names = try rows.map { try $0.decode(column: "name", as: String.self) }
            .filter { !virtual.contains($0) && !shadows.contains($0) }
        var tables: [TableSchema] = []
        for name in names {
            let columns = try await sql.raw("SELECT name FROM pragma_table_info(\(bind: name))")
                .all().map { try $0.decode(column: "name", as: String.self) }
            tables.append(TableSchema(table: name, columns: columns))
        }
        return tables
    }

    private static func postgresTables(_ sql: any SQLDatabase) async throws -> [TableSchema] {
        let rows = try await sql.raw(
            """
            SELECT c.table_name, c.column_name
            FROM information_schema.columns c
            JOIN information_schema.tables t
              ON t.table_schema = c.table_schema AND t.table_name = c.table_name
            WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
            ORDER BY c.table_name, c.ordinal_position
            """
        ).all()
        var columnsByTable: [(String, [String])] = []
        for row in rows {
            let table = try row.decode(column: "table_name", as: String.self)
            let column = try row.decode(column: "column_name", as: String.self)
            if columnsByTable.last?.0 == table {
                columnsByTable[columnsByTable.count - 1].1.append(column)
            } else {
                columnsByTable.append((table, [column]))
            }
        }
        return columnsByTable.map { TableSchema(table: $0.0, columns: $0.1) }
    }
}

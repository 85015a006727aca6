import FluentKit
import Foundation
import SQLKit

/// The database server's clock, read in one statement.
public enum DatabaseTime {
    public static func now(on db: any Database) async throws -> Date {
        let sql = try sqlDatabase(db)
        // Seconds since 1970 as a float on both engines: PostgreSQL's clock at this moment (not
        // the transaction's start), SQLite's (the machine's, read by the same process).
        let query: SQLQueryString =
            sql.dialect.name == "sqlite"
            ? "SELECT (julianday('now') - 2440587.5) * 86400.0 AS now"
            : "SELECT extract(epoch FROM clock_timestamp())::float8 AS now"
        guard let row = try await sql.raw(query).first() else { throw DatabaseTimeUnavailable() }
        return Date(timeIntervalSince1970: try row.decode(column: "now", as: Double.self))
    }
}

struct DatabaseTimeUnavailable: Error {}

import FluentKit
import SQLKit

/// SQLite settings Pictor relies on.
///
/// `journal_mode=WAL` is stored in the database file: set once at boot.
/// `busy_timeout`, `synchronous` and `foreign_keys` belong to each connection,
/// and each process keeps one SQLite connection (`OneConnection`).
public enum SQLiteTuning {
    public static func enableWriteAheadLog(on db: any Database) async throws {
        let sql = try sqlDatabase(db)
        try await sql.raw("PRAGMA journal_mode = WAL").run()
    }

    public static func applyConnectionSettings(busyTimeoutMilliseconds: Int, on db: any Database) async throws {
        let sql = try sqlDatabase(db)
        try await sql.raw("PRAGMA busy_timeout = \(unsafeRaw: String(busyTimeoutMilliseconds))").run()
        try await sql.raw("PRAGMA synchronous = NORMAL").run()
        try await sql.raw("PRAGMA foreign_keys = ON").run()
    }

    /// Reads one pragma's current value as text, for readiness checks and tests.
    public static func pragma(_ name: String, on db: any Database) async throws -> String? {
        let sql = try sqlDatabase(db)
        guard let row = try await sql.raw("PRAGMA \(unsafeRaw: name)").first() else { return nil }
        guard let column = row.allColumns.first else { return nil }
        if let text = try? row.decode(column: column, as: String.self) { return text }
        return try? String(row.decode(column: column, as: Int.self))
    }
}

/// The SQL side of a Fluent database (both of Pictor's engines have one).
public func sqlDatabase(_ db: any Database) throws -> any SQLDatabase {
    guard let sql = db as? any SQLDatabase else { throw PersistenceError.notSQL }
    return sql
}

public enum PersistenceError: Error, CustomStringConvertible {
    case notSQL

    public var description: String {
        switch self {
        case .notSQL: "the configured database does not speak SQL"
        }
    }
}

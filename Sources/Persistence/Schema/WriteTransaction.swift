import FluentKit
import SQLKit

/// Runs `body` in a transaction that writes. On PostgreSQL it is an ordinary transaction.
/// On SQLite it begins `IMMEDIATE`, taking the write lock first: a deferred transaction that
/// has read and then writes while another connection writes fails at once with
/// SQLITE_BUSY_SNAPSHOT, whereas an immediate one waits its turn (busy handler).
public func writeTransaction<T: Sendable>(
    on db: any Database, _ body: @escaping @Sendable (any Database) async throws -> T
) async throws -> T {
    guard try sqlDatabase(db).dialect.name == "sqlite" else {
        return try await db.transaction(body)
    }
    return try await db.withConnection { connection in
        let sql = try sqlDatabase(connection)
        try await sql.raw("BEGIN IMMEDIATE").run()
        do {
            let result = try await body(connection)
            try await sql.raw("COMMIT").run()
            return result
        } catch {
            try? await sql.raw("ROLLBACK").run()
            throw error
        }
    }
}

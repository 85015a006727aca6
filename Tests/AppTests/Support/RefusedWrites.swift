import Fluent
import Persistence
import SQLKit

/// Makes the database refuse every `operation` (INSERT, UPDATE) on `table` from now on, with a
/// trigger, on SQLite or PostgreSQL: how a test makes one step of a transaction fail.
func refuse(_ operation: String, on table: String, in db: any Database) async throws {
    let sql = try sqlDatabase(db)
    let name = "refuse_\(operation.lowercased())_\(table)"
    if sql.dialect.name == "sqlite" {
        try await sql.raw(
            """
            CREATE TRIGGER \(unsafeRaw: name) BEFORE \(unsafeRaw: operation) ON \(unsafeRaw: table)
            BEGIN SELECT RAISE(ABORT, 'refused by the test'); END
            """
        ).run()
    } else {
        try await sql.raw(
            """
            CREATE FUNCTION \(unsafeRaw: name)() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql
            """
        ).run()
        try await sql.raw(
            """
            CREATE TRIGGER \(unsafeRaw: name) BEFORE \(unsafeRaw: operation) ON \(unsafeRaw: table) FOR EACH ROW EXECUTE FUNCTION \(unsafeRaw: name)()
            """
        ).run()
    }
}

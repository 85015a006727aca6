import FluentKit
import SQLKit

/// Migration 010: what the gallery needs on `generations`: favourites, deletion with undo,
/// and search over prompts that stay encrypted. `search_terms` holds keyed hashes of the
/// prompt's words (never the words); SQLite indexes it with FTS5 (an external-content table
/// kept in step by triggers), PostgreSQL with a GIN index over its `tsvector`.
struct M010AddGalleryColumns: AsyncMigration {
    var name: String { "010_add_gallery_columns" }

    func prepare(on database: any Database) async throws {
        let sql = try sqlDatabase(database)
        try await sql.raw("ALTER TABLE generations ADD COLUMN search_terms TEXT NOT NULL DEFAULT ''").run()
        try await database.schema("generations").field("favourited_at", .datetime).update()
        try await database.schema("generations").field("deleted_at", .datetime).update()
        try await sql.raw("CREATE INDEX generations_user_favourites ON generations (user_id, favourited_at)").run()
        try await sql.raw("CREATE INDEX generations_deleted ON generations (deleted_at)").run()
        if sql.dialect.name == "sqlite" {
            try await sql.raw(
                """
                CREATE VIRTUAL TABLE generation_search USING fts5(
                    search_terms, content = 'generations', content_rowid = 'rowid', tokenize = 'ascii')
                """
            ).run()
            try await sql.raw(
                """
                CREATE TRIGGER generation_search_insert AFTER INSERT ON generations BEGIN
                    INSERT INTO generation_search (rowid, search_terms) VALUES (new.rowid, new.search_terms);
                END
                """
            ).run()
            try await sql.raw(
                """
                CREATE TRIGGER generation_search_delete AFTER DELETE ON generations BEGIN
                    INSERT INTO generation_search (generation_search, rowid, search_terms) VALUES ('delete', old.rowid, old.search_terms);
                END
                """
            ).run()
            try await sql.raw(
                """
                CREATE TRIGGER generation_search_update AFTER UPDATE OF search_terms ON generations BEGIN
                    INSERT INTO generation_search (generation_search, rowid, search_terms) VALUES ('delete', old.rowid, old.search_terms);
                    INSERT INTO generation_search (rowid, search_terms) VALUES (new.rowid, new.search_terms);
                END
                """
            ).run()
        } else {
            try await sql.raw(
                """
                CREATE INDEX generations_search ON generations USING GIN (to_tsvector('simple', search_terms))
                """
            ).run()
        }
    }

    func revert(on database: any Database) async throws {
        let sql = try sqlDatabase(database)
        if sql.dialect.name == "sqlite" {
            for trigger in ["generation_search_insert", "generation_search_delete", "generation_search_update"] {
                try await sql.raw("DROP TRIGGER IF EXISTS \(unsafeRaw: trigger)").run()
            }
            try await sql.raw("DROP TABLE IF EXISTS generation_search").run()
        } else {
            try await sql.raw("DROP INDEX IF EXISTS generations_search").run()
        }
        try await sql.raw("DROP INDEX IF EXISTS generations_user_favourites").run()
        try await sql.raw("DROP INDEX IF EXISTS generations_deleted").run()
        try await database.schema("generations").deleteField("search_terms").update()
        try await database.schema("generations").deleteField("favourited_at").update()
        try await database.schema("generations").deleteField("deleted_at").update()
    }
}

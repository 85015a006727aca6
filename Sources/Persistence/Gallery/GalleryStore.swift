import Domain
import FluentKit
import Foundation
import SQLKit

/// The gallery's reads and the owner's changes to a generation: favourite, delete (with
/// undo), search. Every query names the owner, so no one reaches another person's rows.
public enum GalleryStore {
    /// A page of the owner's generations matching `filter`, newest first, after `cursor`
    /// (keyset pagination on `(created_at, id)`, served by the `generations_user_created` index).
    /// Search runs on SQLite's FTS5 index or PostgreSQL's `tsvector` GIN index; the terms are
    /// keyed hashes (letters and digits only), so they need no quoting in either query language.
    public static func page(
        of userID: UUID, filter: GalleryFilter, after cursor: PageCursor?, limit: Int, on db: any Database
    ) async throws -> [GenerationModel] {
        let sql = try sqlDatabase(db)
        var query: SQLQueryString = "SELECT * FROM generations WHERE user_id = \(bind: userID) AND deleted_at IS NULL"
        if let model = filter.model { query += " AND model = \(bind: model)" }
        if let state = filter.state { query += " AND state = \(bind: state.rawValue)" }
        if filter.favouritesOnly { query += " AND favourited_at IS NOT NULL" }
        if let from = filter.from { query += " AND created_at >= \(bind: from)" }
        if let until = filter.until { query += " AND created_at < \(bind: until)" }
        let terms = filter.terms.filter { !$0.isEmpty && $0.allSatisfy { $0.isLetter || $0.isNumber } }
        if !terms.isEmpty {
            if sql.dialect.name == "sqlite" {
                query += " AND rowid IN (SELECT rowid FROM generation_search WHERE generation_search MATCH \(bind: terms.joined(separator: " AND ")))"
            } else {
                query += " AND to_tsvector('simple', search_terms) @@ to_tsquery('simple', \(bind: terms.joined(separator: " & ")))"
            }
        }
        if let cursor {
            query += " AND (created_at < \(bind: cursor.createdAt) OR (created_at = \(bind: cursor.createdAt) AND id < \(bind: cursor.id)))"
        }
        query += " ORDER BY created_at DESC, id DESC LIMIT \(literal: limit)"
        return try await sql.raw(query).all().map(GenerationStore.generation(from:))
    }

    /// Marks or unmarks a favourite. False when the owner has no such generation.
    public static func setFavourite(_ id: UUID, of userID: UUID, _ favourite: Bool, now: Date, on db: any Database) async throws -> Bool {
        try await sqlDatabase(db).raw(
            """
            UPDATE generations SET favourited_at = \(bind: favourite ? now : nil as Date?)
            WHERE id = \(bind: id) AND user_id = \(bind: userID) AND deleted_at IS NULL RETURNING id
            """
        ).first() != nil
    }

    /// Hides a generation from everything at once; `restore` brings it back until it is purged.
    public static func markDeleted(_ id: UUID, of userID: UUID, now: Date, on db: any Database) async throws -> Bool {
        try await sqlDatabase(db).raw(
            """
            UPDATE generations SET deleted_at = \(bind: now), updated_at = \(bind: now)
            WHERE id = \(bind: id) AND user_id = \(bind: userID) AND deleted_at IS NULL RETURNING id
            """
        ).first() != nil
    }

    /// Undoes a delete made after `since`. False when there is nothing to restore.
    public static func restore(_ id: UUID, of userID: UUID, deletedAfter since: Date, now: Date, on db: any Database) async throws -> Bool {
        try await sqlDatabase(db).raw(
            """
            UPDATE generations SET deleted_at = NULL, updated_at = \(bind: now)
            WHERE id = \(bind: id) AND user_id = \(bind: userID) AND deleted_at > \(bind: since) RETURNING id
            """
        ).first() != nil
    }

    /// Generations deleted before `before` that have ended, oldest first: what the purge removes
    /// for good. One still queued or running (deleted while its cancellation failed) waits until
    /// it ends: removed mid-run, its credit hold would never be settled.
    public static func deleted(before: Date, limit: Int, on db: any Database) async throws -> [GenerationModel] {
        try await sqlDatabase(db).raw(
            """
            SELECT * FROM generations WHERE deleted_at IS NOT NULL AND deleted_at < \(bind: before) AND \(unsafeRaw: ended)
            ORDER BY deleted_at LIMIT \(literal: limit)
            """
        ).all().map(GenerationStore.generation(from:))
    }

    private static let ended = "state NOT IN (\(GenerationState.queued.sql), \(GenerationState.running.sql))"

    /// Removes a deleted generation's rows (images, share links, downloads and the reference
    /// images uploaded with it) if it is still deleted before `before`; returns the image and
    /// reference rows' blob keys to remove after commit, or nil when it was restored meanwhile.
    /// A reference uploaded with it that another of the owner's generations also used is kept,
    /// attached to that generation instead, so that it is not left without it and the reference
    /// goes when the last generation using it is purged.
    public static func purge(_ id: UUID, deletedBefore before: Date, on db: any Database) async throws -> [String]? {
        let sql = try sqlDatabase(db)
        let images = try await sql.raw(
            """
            SELECT blob_key, thumbnail_key FROM generation_images WHERE generation_id = \(bind: id)
            """
        ).all().flatMap { [try $0.decode(column: "blob_key", as: String.self), try $0.decode(column: "thumbnail_key", as: String.self)] }
        let references = try await sql.raw(
            """
            SELECT id, user_id, blob_key FROM reference_images WHERE generation_id = \(bind: id)
            """
        ).all().map {
            (
                id: try $0.decode(column: "id", as: UUID.self), user: try $0.decode(column: "user_id", as: UUID.self),
                blobKey: try $0.decode(column: "blob_key", as: String.self)
            )
        }
        // The generation first, and only while it is still deleted: an undo that won the race keeps everything.
        guard
            try await sql.raw(
                """
                DELETE FROM generations WHERE id = \(bind: id) AND deleted_at IS NOT NULL AND deleted_at < \(bind: before) AND \(unsafeRaw: ended)
                RETURNING id
                """
            ).first() != nil
        else { return nil }
        try await sql.raw("DELETE FROM generation_images WHERE generation_id = \(bind: id)").run()
        try await sql.raw("DELETE FROM share_links WHERE generation_id = \(bind: id)").run()
        try await sql.raw("DELETE FROM downloads WHERE generation_id = \(bind: id)").run()
        var removedReferences: [String] = []
        for reference in references {
            // `reference_ids` holds a JSON list of ids (JSONEncoder writes them upper case).
            let usedBy = try await sql.raw(
                """
                SELECT id FROM generations
                WHERE user_id = \(bind: reference.user) AND UPPER(reference_ids) LIKE \(bind: "%\"\(reference.id.uuidString.uppercased())\"%") LIMIT 1
                """
            ).first()?.decode(column: "id", as: UUID.self)
            if let usedBy {
                try await sql.raw("UPDATE reference_images SET generation_id = \(bind: usedBy) WHERE id = \(bind: reference.id)").run()
            } else {
                try await sql.raw("DELETE FROM reference_images WHERE id = \(bind: reference.id)").run()
                removedReferences.append(reference.blobKey)
            }
        }
        return images + removedReferences
    }
}

extension GalleryStore {
    /// The owner's image, unless its generation has been deleted; nil otherwise.
    public static func image(_ id: UUID, of userID: UUID, on db: any Database) async throws -> GenerationImageModel? {
        try await GenerationImageModel.query(on: db)
            .join(GenerationModel.self, on: \GenerationImageModel.$generationID == \GenerationModel.$id)
            .filter(\.$id == id).filter(\.$userID == userID)
            .filter(GenerationModel.self, \.$deletedAt == nil)
            .first()
    }
}

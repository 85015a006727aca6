import FluentKit
import Foundation
import SQLKit

public enum ReferenceImageStore {
    /// Ties reference images uploaded with a request to its generation: they are removed
    /// with it when it is deleted for good.
    public static func attach(_ ids: [UUID], to generationID: UUID, on db: any Database) async throws {
        guard !ids.isEmpty else { return }
        try await sqlDatabase(db).update("reference_images")
            .set("generation_id", to: generationID)
            .where("id", .in, ids)
            .run()
    }

    /// A page of the owner's references, newest first, after `cursor`.
    public static func page(of userID: UUID, after cursor: PageCursor?, limit: Int, on db: any Database) async throws -> [ReferenceImageModel] {
        var query = ReferenceImageModel.query(on: db).filter(\.$userID == userID)
        if let cursor {
            query = query.group(.or) { older in
                older.filter(\.$createdAt < cursor.createdAt)
                older.group(.and) { same in same.filter(\.$createdAt == cursor.createdAt).filter(\.$id < cursor.id) }
            }
        }
        return try await query.sort(\.$createdAt, .descending).sort(\.$id, .descending).limit(limit).all()
    }

    /// How many references the owner keeps on their own (not tied to a generation).
    public static func storedCount(of userID: UUID, on db: any Database) async throws -> Int {
        try await ReferenceImageModel.query(on: db).filter(\.$userID == userID).filter(\.$generationID == nil).count()
    }
}

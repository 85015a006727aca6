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

    public static func insert(_ reference: ReferenceImageModel, on db: any Database) async throws {
        try await reference.create(on: db)
    }

    public static func delete(_ reference: ReferenceImageModel, on db: any Database) async throws {
        try await reference.delete(on: db)
    }

    /// The owner's reference with this id; nil when it is someone else's or gone.
    public static func find(_ id: UUID, of userID: UUID, on db: any Database) async throws -> ReferenceImageModel? {
        try await ReferenceImageModel.query(on: db).filter(\.$id == id).filter(\.$userID == userID).first()
    }

    /// The owner's references among `ids` (in no particular order; missing ones are left out).
    public static func find(_ ids: [UUID], of userID: UUID, on db: any Database) async throws -> [ReferenceImageModel] {
        guard !ids.isEmpty else { return [] }
        return try await ReferenceImageModel.query(on: db).filter(\.$id ~~ ids).filter(\.$userID == userID).all()
    }

    /// The blob keys rows record for these reference ids.
    public static func recordedBlobKeys(of ids: [UUID], on db: any Database) async throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        return Set(try await ReferenceImageModel.query(on: db).filter(\.$id ~~ ids).all().map(\.blobKey))
    }
}

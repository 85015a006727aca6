import FluentKit
import Foundation
import SQLKit

/// One download of one image, as the person's download activity shows it.
public struct DownloadRecord: Sendable, Equatable {
    public let id: UUID
    public let userID: UUID
    public let imageID: UUID
    public let generationID: UUID
    public let format: String
    public let createdAt: Date

    public init(id: UUID = UUID(), userID: UUID, imageID: UUID, generationID: UUID, format: String, createdAt: Date) {
        self.id = id
        self.userID = userID
        self.imageID = imageID
        self.generationID = generationID
        self.format = format
        self.createdAt = createdAt
    }
}

/// The download activity: recorded on every download, listed for its owner, kept for a
/// year (see the data inventory).
public enum DownloadStore {
    public static func record(_ download: DownloadRecord, on db: any Database) async throws {
        try await sqlDatabase(db).raw(
            """
            INSERT INTO downloads (id, user_id, image_id, generation_id, format, created_at)
            VALUES (\(bind: download.id), \(bind: download.userID), \(bind: download.imageID), \(bind: download.generationID),
                    \(bind: download.format), \(bind: download.createdAt))
            """
        ).run()
    }

    /// The owner's downloads, newest first.
    public static func recent(of userID: UUID, limit: Int, on db: any Database) async throws -> [DownloadRecord] {
        try await sqlDatabase(db).raw(
            """
            SELECT * FROM downloads WHERE user_id = \(bind: userID) ORDER BY created_at DESC, id DESC LIMIT \(literal: limit)
            """
        ).all().map { row in
            DownloadRecord(
                id: try row.decode(column: "id", as: UUID.self), userID: try row.decode(column: "user_id", as: UUID.self),
                imageID: try row.decode(column: "image_id", as: UUID.self),
                generationID: try row.decode(column: "generation_id", as: UUID.self),
                format: try row.decode(column: "format", as: String.self), createdAt: try row.decode(column: "created_at", as: Date.self))
        }
    }
}

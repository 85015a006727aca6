import FluentKit
import Foundation

/// Each person's content key, stored sealed (`content_keys`, keyed by the user id).
public enum ContentKeyStore {
    public static func find(_ userID: UUID, on db: any Database) async throws -> ContentKeyModel? {
        try await ContentKeyModel.find(userID, on: db)
    }

    /// Stores `key` unless the person has one already, and returns the one stored: of two
    /// requests making a key at once, the first wins and both get it.
    public static func insertOrExisting(_ key: ContentKeyModel, on db: any Database) async throws -> ContentKeyModel {
        do {
            try await key.create(on: db)
            return key
        } catch let error where (error as? any DatabaseError)?.isConstraintFailure == true {
            guard let userID = key.id, let stored = try await ContentKeyModel.find(userID, on: db) else { throw error }
            return stored
        }
    }
}

import FluentKit
import Foundation
import SQLKit

/// A record that some of a person's data went to a processor.
public struct Disclosure: Sendable, Equatable {
    public let id: UUID
    public let userID: UUID
    public let generationID: UUID?
    /// Who received it, e.g. "OpenAI Images API (api.openai.com)".
    public let processor: String
    public let purpose: String
    /// What was sent, in words: "prompt, reference images, pseudonymous user id".
    public let categories: String
    public let createdAt: Date

    public init(id: UUID = UUID(), userID: UUID, generationID: UUID?, processor: String, purpose: String, categories: String, createdAt: Date) {
        self.id = id
        self.userID = userID
        self.generationID = generationID
        self.processor = processor
        self.purpose = purpose
        self.categories = categories
        self.createdAt = createdAt
    }
}

public enum DisclosureStore {
    public static func record(_ d: Disclosure, on db: any Database) async throws {
        try await sqlDatabase(db).raw(
            """
            INSERT INTO disclosures (id, user_id, generation_id, processor, purpose, categories, created_at)
            VALUES (\(bind: d.id), \(bind: d.userID), \(bind: d.generationID), \(bind: d.processor), \(bind: d.purpose),
                    \(bind: d.categories), \(bind: d.createdAt))
            """
        ).run()
    }

    /// The person's disclosures, newest first.
    public static func list(of userID: UUID, limit: Int, on db: any Database) async throws -> [Disclosure] {
        try await sqlDatabase(db).raw(
            """
            SELECT id, user_id, generation_id, processor, purpose, categories, created_at FROM disclosures
            WHERE user_id = \(bind: userID) ORDER BY created_at DESC LIMIT \(bind: limit)
            """
        ).all().map { row in
            Disclosure(
                id: try row.decode(column: "id", as: UUID.self), userID: try row.decode(column: "user_id", as: UUID.self),
                generationID: try row.decode(column: "generation_id", as: UUID?.self),
                processor: try row.decode(column: "processor", as: String.self), purpose: try row.decode(column: "purpose", as: String.self),
                categories: try row.decode(column: "categories", as: String.self),
                createdAt: try row.decode(column: "created_at", as: Date.self))
        }
    }
}

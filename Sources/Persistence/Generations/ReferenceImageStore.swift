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
}

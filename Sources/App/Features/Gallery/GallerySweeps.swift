import Fluent
import Foundation
import Persistence
import Storage
import Vapor

/// Part of the maintenance sweep: generations deleted longer ago than the undo time are
/// removed for good (with the reference images uploaded with them), rows first in one
/// transaction each, then their files. An image file whose removal fails is found by
/// `GenerationSweeps.removeUnrecordedBlobs` on a later sweep.
enum GallerySweeps {
    static func purgeDeleted(app: Application, now: Date) async throws -> Int {
        var purged = 0
        while true {
            let before = now.addingTimeInterval(-GenerationActions.undoWindow)
            let batch = try await GalleryStore.deleted(before: before, limit: 100, on: app.db)
            guard !batch.isEmpty else { return purged }
            for generation in batch {
                let id = generation.id!
                guard let keys = try await writeTransaction(on: app.db, { tx in try await GalleryStore.purge(id, deletedBefore: before, on: tx) })
                else { continue }
                for key in keys { try? await app.pictor.blobs.delete(BlobKey(key)) }
                purged += 1
            }
        }
    }
}

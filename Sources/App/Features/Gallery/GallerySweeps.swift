import Fluent
import Foundation
import Persistence
import Storage
import Vapor

/// Part of the maintenance sweep: generations deleted longer ago than the undo time are
/// removed for good, rows first (in one transaction each), then their files. A file whose
/// removal fails is found by `GenerationSweeps.removeUnrecordedBlobs` on a later sweep.
enum GallerySweeps {
    static func purgeDeleted(app: Application, now: Date = Date()) async throws -> Int {
        var purged = 0
        while true {
            let batch = try await GalleryStore.deleted(before: now.addingTimeInterval(-GenerationActions.undoWindow), limit: 100, on: app.db)
            guard !batch.isEmpty else { return purged }
            for generation in batch {
                let images = try await GenerationStore.images(of: generation.id!, on: app.db)
                try await writeTransaction(on: app.db) { tx in try await GalleryStore.purge(generation.id!, on: tx) }
                for image in images {
                    try? await app.pictor.blobs.delete(BlobKey(image.blobKey))
                    try? await app.pictor.blobs.delete(BlobKey(image.thumbnailKey))
                }
                purged += 1
            }
        }
    }
}

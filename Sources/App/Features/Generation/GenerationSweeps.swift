import Domain
import Fluent
import Foundation
import Persistence
import Storage
import Vapor

/// Repairs what crashes leave behind, so that the two promises hold in the end:
/// no generation stays open (credits held) once its job is over, and no image bytes stay
/// stored without the row that records them.
enum GenerationSweeps {
    /// Ends, failed and free, every queued or running generation whose job is gone, dead or
    /// finished (its worker died on every attempt, or crashed between the two). Returns how many.
    static func endOrphaned(app: Application) async throws -> Int {
        var ended = 0
        for id in try await GenerationStore.orphaned(on: app.db) {
            guard let generation = try await GenerationStore.find(id, on: app.db) else { continue }
            if try await GenerationService.end(generation, as: .failed, reason: GenerationService.ourFault, app: app, on: app.db) {
                ended += 1
            }
        }
        return ended
    }

    /// How old a reference image's bytes, or a temporary file, must be before the sweep may
    /// call them left behind: an upload writes its bytes a moment before its row, and a write
    /// in flight has its temporary file.
    static let inFlightGrace: TimeInterval = 3600

    /// Deletes image bytes that no row records: a generation's once the generation has ended
    /// (or no longer exists; blobs of queued and running generations belong to attempts in
    /// flight), and a reference image's once it is an hour old (an upload that died between its
    /// bytes and its row, or a removal whose file delete failed), and the local store's
    /// half-written temporary files once as old (a process killed mid-write). Returns how many.
    /// Ages are file times (the machine's clock) against `now`: the service clock, which in
    /// production is the machine's too; a test that moves it ages every file at once.
    static func removeUnrecordedBlobs(app: Application, now: Date) async throws -> Int {
        var removed = 0
        if let local = app.pictor.blobs as? LocalBlobStore {
            removed += try await local.removeStalePartials(olderThan: inFlightGrace, now: now)
        }
        var byGeneration: [UUID: [BlobKey]] = [:]
        var references: [UUID: BlobKey] = [:]
        for blob in try await app.pictor.blobs.entries(prefix: BlobKey.peoplePrefix) {
            switch blob.key.owner {
            case .generation(_, let generation):
                byGeneration[generation, default: []].append(blob.key)
            case .reference(_, let reference) where now.timeIntervalSince(blob.modified) > inFlightGrace:
                references[reference] = blob.key
            default:
                continue
            }
        }
        for chunk in Array(byGeneration.keys).chunked(into: 200) {
            let states = try await GenerationStore.states(of: chunk, on: app.db)
            let recorded = try await GenerationStore.recordedBlobKeys(ofGenerations: chunk, on: app.db)
            for id in chunk {
                if let state = states[id], !state.isFinal { continue }
                for key in byGeneration[id] ?? [] where !recorded.contains(key.rawValue) {
                    try await app.pictor.blobs.delete(key)
                    removed += 1
                }
            }
        }
        for chunk in Array(references.keys).chunked(into: 200) {
            let recorded = try await ReferenceImageStore.recordedBlobKeys(of: chunk, on: app.db)
            for id in chunk {
                guard let key = references[id], !recorded.contains(key.rawValue) else { continue }
                try await app.pictor.blobs.delete(key)
                removed += 1
            }
        }
        return removed
    }
}

extension Array {
    func chunked(into size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}

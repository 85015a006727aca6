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
        let rows = try await sqlDatabase(app.db).raw("""
            SELECT g.id AS id FROM generations g LEFT JOIN jobs j ON j.id = g.job_id
            WHERE g.state IN ('queued', 'running') AND (j.id IS NULL OR j.state IN ('dead', 'succeeded'))
            """).all()
        var ended = 0
        for row in rows {
            let id = try row.decode(column: "id", as: UUID.self)
            guard let generation = try await GenerationModel.find(id, on: app.db) else { continue }
            if try await GenerationService.end(generation, as: .failed, reason: GenerationService.ourFault, app: app, on: app.db) {
                ended += 1
            }
        }
        return ended
    }

    /// Deletes generation blobs that no image row records, once their generation has ended
    /// (or no longer exists). Blobs of queued and running generations belong to attempts in
    /// flight and are left alone. Returns how many were removed.
    static func removeUnrecordedBlobs(app: Application) async throws -> Int {
        // users/<user>/generations/<generation>.<position>-<attempt>.<extension>
        var byGeneration: [UUID: [BlobKey]] = [:]
        for key in try await app.pictor.blobs.list(prefix: "users/") {
            let parts = key.rawValue.split(separator: "/")
            guard parts.count == 4, parts[2] == "generations",
                let id = parts[3].split(separator: ".").first.flatMap({ UUID(uuidString: String($0)) })
            else { continue }
            byGeneration[id, default: []].append(key)
        }
        guard !byGeneration.isEmpty else { return 0 }
        var removed = 0
        for chunk in Array(byGeneration.keys).chunked(into: 200) {
            let generations = try await GenerationModel.query(on: app.db).filter(\.$id ~~ chunk).all()
            let states = Dictionary(uniqueKeysWithValues: generations.map { ($0.id!, GenerationState(rawValue: $0.state)) })
            let images = try await GenerationImageModel.query(on: app.db).filter(\.$generationID ~~ chunk).all()
            let recorded = Set(images.flatMap { [$0.blobKey, $0.thumbnailKey] })
            for id in chunk {
                if let state = states[id], state?.isFinal != true { continue }
                for key in byGeneration[id] ?? [] where !recorded.contains(key.rawValue) {
                    try await app.pictor.blobs.delete(key)
                    removed += 1
                }
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

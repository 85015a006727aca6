import App
import Domain
import Fluent
import Foundation
import Persistence
import SQLKit
import Vapor

/// Bulk-made history for the gallery benchmark (`pictor-bench --gallery`): finished
/// generations with one image row each, prompts sealed and searchable like real ones.
/// Rows only: no image files are written, so it is for measuring queries, not for people.
enum GalleryFixtures {
    struct NoSuchAccount: Error {}

    static let adjectives = ["quiet", "stormy", "golden", "misty", "bright", "ancient", "tiny", "vast", "frozen", "gentle"]
    static let subjects = [
        "lighthouse", "harbour", "forest", "city", "mountain", "garden", "desert", "river", "castle", "meadow",
        "island", "bridge", "temple", "market", "valley", "glacier", "canyon", "village", "orchard", "reef",
    ]
    static let times = ["at dawn", "at dusk", "at night", "in winter", "in spring", "under rain", "in fog"]

    /// The prompt of fixture number `index`: each subject word is in one prompt of 20.
    static func prompt(_ index: Int) -> String {
        "a \(adjectives[index % adjectives.count]) \(subjects[(index / 10) % subjects.count]) \(times[index % times.count])"
    }

    /// Inserts `count` generations for the account with `email`, one second apart, newest last;
    /// every hundredth is a favourite. Returns the account's id.
    @discardableResult
    static func insert(count: Int, forEmail email: String, app: Application) async throws -> UUID {
        guard let email = EmailAddress.normalize(email),
            let user = try await UserModel.query(on: app.db).filter(\.$email == email).first()?.id
        else {
            throw NoSuchAccount()
        }
        let sealer = try await app.promptSealer(for: user)
        let start = Date().addingTimeInterval(-Double(count)).roundedToMillisecond
        let batch = 400
        for first in stride(from: 0, to: count, by: batch) {
            let indices = first..<min(first + batch, count)
            var generationRows: [[any Encodable & Sendable]] = []
            var imageRows: [[any Encodable & Sendable]] = []
            for index in indices {
                let id = UUID()
                let prompt = prompt(index)
                let made = start.addingTimeInterval(Double(index))
                let terms = sealer.searchTerms(prompt)
                let base = "users/\(user.uuidString.lowercased())/generations/\(id.uuidString.lowercased()).0-fixture"
                generationRows.append([
                    id, user, "builtin", try sealer.sealed(prompt), try sealer.sealed(""), 512, 512, 1, Int64(index), "",
                    "[]", "succeeded", 1.0, 1, 1, 1, "fixture-\(index)", made, made, made, terms,
                    index % 100 == 0 ? made : nil as Date?,
                ])
                imageRows.append([
                    UUID(), id, user, 0, base + ".png", base + ".thumb.webp", "png", 512, 512, 400_000, 12_000,
                    String(repeating: "0", count: 64), "trainedAlgorithmicMedia", made,
                ])
            }
            try await writeTransaction(on: app.db) { [generationRows, imageRows] tx in
                let sql = try sqlDatabase(tx)
                try await sql.insert(into: "generations").columns(
                    "id", "user_id", "model", "prompt_sealed", "negative_prompt_sealed", "width", "height", "count", "seed", "style",
                    "reference_ids", "state", "progress", "price_per_image", "credits_held", "credits_charged", "request_hash",
                    "created_at", "finished_at", "updated_at", "search_terms", "favourited_at"
                ).rows(generationRows.map { $0.map { SQLBind($0) as any SQLExpression } }).run()
                try await sql.insert(into: "generation_images").columns(
                    "id", "generation_id", "user_id", "position", "blob_key", "thumbnail_key", "format", "width", "height",
                    "bytes", "thumbnail_bytes", "sha256", "digital_source_type", "created_at"
                ).rows(imageRows.map { $0.map { SQLBind($0) as any SQLExpression } }).run()
            }
        }
        return user
    }
}

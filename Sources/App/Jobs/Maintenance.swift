import Fluent
import Foundation
import Persistence
import Vapor

/// The periodic sweeps, run as one recurring job on the same queue: each run does its work
/// and queues the next. Workers make sure one is scheduled when they start.
enum Maintenance {
    static let jobKind = "maintenance.sweep"
    static let interval: TimeInterval = 600

    /// Queues a sweep now unless one is already waiting or running.
    static func ensureScheduled(app: Application) async throws {
        let sql = try sqlDatabase(app.db)
        let pending = try await sql.raw("""
            SELECT COUNT(*) AS n FROM jobs WHERE kind = \(bind: jobKind) AND state IN ('queued', 'running')
            """).first()?.decode(column: "n", as: Int.self) ?? 0
        if pending == 0 {
            try await app.enqueue(NewJob(kind: jobKind, payload: "{}", maxAttempts: 3), on: app.db)
        }
    }
}

struct MaintenanceHandler: JobHandler {
    let kind = Maintenance.jobKind

    func run(_ job: ClaimedJob, context: JobContext) async throws {
        let app = context.application
        let ended = try await GenerationSweeps.endOrphaned(app: app)
        let purged = try await GallerySweeps.purgeDeleted(app: app)
        let removed = try await GenerationSweeps.removeUnrecordedBlobs(app: app)
        if ended + purged + removed > 0 {
            context.logger.notice("maintenance", metadata: [
                "generations-ended": "\(ended)", "deleted-generations-purged": "\(purged)", "blobs-removed": "\(removed)",
            ])
        }
        try await JobQueue.enqueue(
            NewJob(kind: Maintenance.jobKind, payload: "{}", runAt: Date().addingTimeInterval(Maintenance.interval), maxAttempts: 3),
            now: Date(), on: app.db)
    }
}

import Fluent
import Foundation
import Persistence
import Vapor

/// The periodic sweeps, run as one recurring job on the same queue: each run does its work
/// and queues the next. A runner that can sweep makes sure one is scheduled when it starts
/// and once a minute after, so a sweep that died (its attempts used up while the database or
/// the blob store was down) is replaced within a minute, not at the next restart.
enum Maintenance {
    static let jobKind = "maintenance.sweep"
    static let interval: TimeInterval = 600

    /// Queues a sweep now unless one is already waiting or running.
    static func ensureScheduled(app: Application) async throws {
        if try await !JobQueue.hasPending(kind: jobKind, on: app.db) {
            try await app.enqueue(sweep(at: app.pictor.queueClock.now), on: app.db)
        }
    }

    /// A sweep to run at `date`.
    static func sweep(at date: Date) -> NewJob {
        NewJob(kind: jobKind, payload: "{}", runAt: date, maxAttempts: 3)
    }

    /// Whether the sweep `job`, ending, should leave the next one to another: a sweep is
    /// waiting already, or another runs now and comes first by id (of two running at once,
    /// exactly one queues the next).
    static func leavesTheNextToAnother(_ job: UUID, on db: any Database) async throws -> Bool {
        try await JobQueue.hasAnotherBefore(job, kind: jobKind, on: db)
    }
}

struct MaintenanceHandler: JobHandler {
    let kind = Maintenance.jobKind

    func run(_ job: ClaimedJob, context: JobContext) async throws {
        let app = context.application
        let ended = try await GenerationSweeps.endOrphaned(app: app)
        let purged = try await GallerySweeps.purgeDeleted(app: app, now: app.pictor.clock.now())
        let removed = try await GenerationSweeps.removeUnrecordedBlobs(app: app, now: app.pictor.clock.now())
        let holdsSettled = try await BillingSweeps.settleStranded(app: app, now: app.pictor.clock.now())
        _ = try await BillingSweeps.checkBalances(app: app, logger: context.logger)
        if ended + purged + removed + holdsSettled > 0 {
            context.logger.notice(
                "maintenance",
                metadata: [
                    "generations-ended": "\(ended)", "deleted-generations-purged": "\(purged)", "blobs-removed": "\(removed)",
                    "holds-settled": "\(holdsSettled)",
                ])
        }
        // The next sweep is queued as this one is marked done, together, and not when another
        // will do it: two chains (two processes that scheduled one at the same moment) become one.
        // A sweep taken over by another worker (this one lost its lease) leaves it to that one.
        try await writeTransaction(on: app.db) { tx in
            guard try await context.complete(on: tx), try await !Maintenance.leavesTheNextToAnother(job.id, on: tx) else { return }
            let now = app.pictor.queueClock.now
            try await JobQueue.enqueue(Maintenance.sweep(at: now.addingTimeInterval(Maintenance.interval)), now: now, on: tx)
        }
    }
}

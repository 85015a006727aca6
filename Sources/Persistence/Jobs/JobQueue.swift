import Domain
import FluentKit
import Foundation
import SQLKit

/// A job to put on the queue.
public struct NewJob: Sendable {
    public let kind: String
    /// JSON the job's handler decodes.
    public let payload: String
    public let runAt: Date?
    public let maxAttempts: Int

    public init(kind: String, payload: String, runAt: Date? = nil, maxAttempts: Int = 5) {
        self.kind = kind
        self.payload = payload
        self.runAt = runAt
        self.maxAttempts = maxAttempts
    }
}

/// A job a worker holds the lease on.
public struct ClaimedJob: Sendable, Equatable {
    public let id: UUID
    public let kind: String
    public let payload: String
    /// 1 on the first run, 2 on the first retry, …
    public let attempt: Int
    public let maxAttempts: Int

    public init(id: UUID, kind: String, payload: String, attempt: Int, maxAttempts: Int) {
        self.id = id
        self.kind = kind
        self.payload = payload
        self.attempt = attempt
        self.maxAttempts = maxAttempts
    }
}

/// A job as an admin or a test sees it.
public struct JobSnapshot: Sendable, Equatable {
    public let id: UUID
    public let kind: String
    public let state: JobState
    public let attempts: Int
    public let maxAttempts: Int
    public let runAt: Date
    public let leaseOwner: String?
    public let lastError: String?
    public let finishedAt: Date?

    init(row: JobModel) {
        id = row.id!
        kind = row.kind
        state = row.state
        attempts = row.attempts
        maxAttempts = row.maxAttempts
        runAt = row.runAt
        leaseOwner = row.leaseOwner
        lastError = row.lastError
        finishedAt = row.finishedAt
    }
}

/// The durable job queue: one table in the application's database.
///
/// A worker *claims* a job by taking a lease (owner + expiry). A job whose worker died
/// is claimed again once its lease has expired. Every later write is fenced by the
/// lease owner, so a worker that lost its lease cannot overwrite the new owner's result.
/// On PostgreSQL claims use `FOR UPDATE SKIP LOCKED` and `enqueue` sends a `NOTIFY`;
/// on SQLite a claim is a single `UPDATE … RETURNING`, which SQLite runs under its write lock.
public enum JobQueue {
    /// The PostgreSQL notification channel workers `LISTEN` on.
    public static let channel = "pictor_jobs"

    /// Names this process in the notifications it sends: its own listener wakes one worker for
    /// them (its enqueue already woke one), another process's listener wakes all.
    public static let thisProcess = UUID().uuidString

    @discardableResult
    public static func enqueue(_ job: NewJob, now: Date, on db: any Database) async throws -> UUID {
        let id = UUID()
        let sql = try sqlDatabase(db)
        // Plain SQL: the hot path of every submission, without Fluent's reflection.
        let insert: SQLQueryString = """
            INSERT INTO jobs (id, kind, payload, state, run_at, attempts, max_attempts, created_at, updated_at)
            VALUES (\(bind: id), \(bind: job.kind), \(bind: job.payload), \(unsafeRaw: JobState.queued.sql), \(bind: job.runAt ?? now), 0,
                    \(bind: max(job.maxAttempts, 1)), \(bind: now), \(bind: now))
            """
        if sql.dialect.name == "postgresql" {
            // The notification in the same round trip; delivered when the surrounding
            // transaction commits, never before.
            try await sql.raw(notifying("\(insert) RETURNING id", channel: channel, payload: thisProcess)).run()
        } else {
            try await sql.raw(insert).run()
        }
        return id
    }

    /// Takes the lease on the next due job (or one whose lease expired), or returns nil.
    /// Each half is one index range (`jobs_claim`, `jobs_lease`) read in order, so a claim
    /// costs the same with ten jobs waiting or ten thousand. `expectWork` (the last claim found
    /// a job) skips the read that lets an idle queue answer without a write.
    /// `includeAbandoned` looks for a job whose worker died first, then at waiting jobs (the
    /// runner asks once per poll interval, so a dead worker's job is not starved by a queue
    /// that never empties); false looks at waiting jobs only.
    public static func claim(
        owner: String, leaseFor lease: TimeInterval, now: Date, expectWork: Bool = false, includeAbandoned: Bool = true,
        on db: any Database
    ) async throws -> ClaimedJob? {
        let waiting: SQLQueryString = "state = \(unsafeRaw: JobState.queued.sql) AND run_at <= \(bind: now) ORDER BY run_at"
        let abandoned: SQLQueryString = """
            state = \(unsafeRaw: JobState.running.sql) AND lease_expires_at < \(bind: now) AND attempts < max_attempts ORDER BY lease_expires_at
            """
        for candidates in includeAbandoned ? [abandoned, waiting] : [waiting] {
            if let job = try await claim(candidates, owner: owner, leaseFor: lease, now: now, checkFirst: !expectWork, on: db) {
                return job
            }
        }
        return nil
    }

    private static func claim(
        _ candidates: SQLQueryString, owner: String, leaseFor lease: TimeInterval, now: Date, checkFirst: Bool, on db: any Database
    ) async throws -> ClaimedJob? {
        let sql = try sqlDatabase(db)
        // An idle queue is answered by a read: no write (and on SQLite no write lock) per poll.
        if checkFirst, try await sql.raw("SELECT id FROM jobs WHERE \(candidates) LIMIT 1").first() == nil { return nil }
        let lock: SQLQueryString = sql.dialect.name == "postgresql" ? "FOR UPDATE SKIP LOCKED" : ""
        let row = try await sql.raw(
            """
            UPDATE jobs SET state = \(unsafeRaw: JobState.running.sql), lease_owner = \(bind: owner),
                lease_expires_at = \(bind: now.addingTimeInterval(lease)),
                attempts = attempts + 1, updated_at = \(bind: now)
            WHERE id = (SELECT id FROM jobs WHERE \(candidates) LIMIT 1 \(lock))
            RETURNING id, kind, payload, attempts, max_attempts
            """
        ).first()
        guard let row else { return nil }
        return ClaimedJob(
            id: try row.decode(column: "id", as: UUID.self),
            kind: try row.decode(column: "kind", as: String.self),
            payload: try row.decode(column: "payload", as: String.self),
            attempt: try row.decode(column: "attempts", as: Int.self),
            maxAttempts: try row.decode(column: "max_attempts", as: Int.self))
    }

    /// Marks the job done. False when `owner` no longer holds the lease.
    @discardableResult
    public static func complete(_ id: UUID, owner: String, now: Date, on db: any Database) async throws -> Bool {
        try await finish(
            id, owner: owner, on: db,
            set: """
                state = \(unsafeRaw: JobState.succeeded.sql), lease_owner = NULL, lease_expires_at = NULL,
                finished_at = \(bind: now), updated_at = \(bind: now)
                """)
    }

    /// Puts a failed job back on the queue to run again at `runAt`.
    @discardableResult
    public static func reschedule(
        _ id: UUID, owner: String, error: String, runAt: Date, now: Date, on db: any Database
    ) async throws -> Bool {
        try await finish(
            id, owner: owner, on: db,
            set: """
                state = \(unsafeRaw: JobState.queued.sql), lease_owner = NULL, lease_expires_at = NULL,
                run_at = \(bind: runAt), last_error = \(bind: String(error.prefix(2000))), updated_at = \(bind: now)
                """)
    }

    /// Puts a job that could not start back on the queue to run at `runAt`, without counting
    /// the run as an attempt.
    @discardableResult
    public static func postpone(
        _ id: UUID, owner: String, reason: String, runAt: Date, now: Date, on db: any Database
    ) async throws -> Bool {
        try await finish(
            id, owner: owner, on: db,
            set: """
                state = \(unsafeRaw: JobState.queued.sql), lease_owner = NULL, lease_expires_at = NULL, attempts = attempts - 1,
                run_at = \(bind: runAt), last_error = \(bind: String(reason.prefix(2000))), updated_at = \(bind: now)
                """)
    }

    /// Moves a job to the dead-letter state: no more attempts.
    @discardableResult
    public static func bury(_ id: UUID, owner: String, error: String, now: Date, on db: any Database) async throws -> Bool {
        try await finish(
            id, owner: owner, on: db,
            set: """
                state = \(unsafeRaw: JobState.dead.sql), lease_owner = NULL, lease_expires_at = NULL,
                last_error = \(bind: String(error.prefix(2000))), finished_at = \(bind: now), updated_at = \(bind: now)
                """)
    }

    /// Gives a job back unfinished (a worker shutting down): it runs again at once,
    /// and the interrupted run does not count as an attempt.
    @discardableResult
    public static func release(_ id: UUID, owner: String, now: Date, on db: any Database) async throws -> Bool {
        try await finish(
            id, owner: owner, on: db,
            set: """
                state = \(unsafeRaw: JobState.queued.sql), lease_owner = NULL, lease_expires_at = NULL,
                attempts = attempts - 1, run_at = \(bind: now), updated_at = \(bind: now)
                """)
    }

    /// Keeps the lease of a job that is still running.
    @discardableResult
    public static func extendLease(_ id: UUID, owner: String, until: Date, now: Date, on db: any Database) async throws -> Bool {
        try await finish(
            id, owner: owner, on: db,
            set: """
                lease_expires_at = \(bind: until), updated_at = \(bind: now)
                """)
    }

    /// Buries running jobs whose lease expired after their last allowed attempt
    /// (their workers died every time). Returns how many.
    @discardableResult
    public static func buryAbandoned(now: Date, on db: any Database) async throws -> Int {
        let sql = try sqlDatabase(db)
        return try await sql.raw(
            """
            UPDATE jobs SET state = \(unsafeRaw: JobState.dead.sql), lease_owner = NULL, lease_expires_at = NULL,
                last_error = 'the worker stopped responding on every attempt',
                finished_at = \(bind: now), updated_at = \(bind: now)
            WHERE state = \(unsafeRaw: JobState.running.sql) AND lease_expires_at < \(bind: now) AND attempts >= max_attempts
            RETURNING id
            """
        ).all().count
    }

    public static func snapshot(_ id: UUID, on db: any Database) async throws -> JobSnapshot? {
        try await JobModel.find(id, on: db).map(JobSnapshot.init(row:))
    }

    /// Jobs that failed for good, newest first: what an admin looks at.
    public static func deadLetters(limit: Int, on db: any Database) async throws -> [JobSnapshot] {
        try await JobModel.query(on: db).filter(\.$state == JobState.dead)
            .sort(\.$finishedAt, .descending).limit(limit).all()
            .map(JobSnapshot.init(row:))
    }

    /// Whether a job of `kind` is waiting or running (a recurring job is scheduled).
    public static func hasPending(kind: String, on db: any Database) async throws -> Bool {
        try await sqlDatabase(db).raw(
            """
            SELECT id FROM jobs WHERE kind = \(bind: kind) AND state IN (\(unsafeRaw: JobState.queued.sql), \(unsafeRaw: JobState.running.sql))
            LIMIT 1
            """
        ).first() != nil
    }

    /// Whether, of the jobs of `kind`, another than `job` is waiting, or runs and comes before
    /// it by id (of two running at once, exactly one is told it comes first).
    public static func hasAnotherBefore(_ job: UUID, kind: String, on db: any Database) async throws -> Bool {
        try await sqlDatabase(db).raw(
            """
            SELECT id FROM jobs WHERE kind = \(bind: kind) AND id <> \(bind: job)
            AND (state = \(unsafeRaw: JobState.queued.sql) OR (state = \(unsafeRaw: JobState.running.sql) AND id < \(bind: job)))
            LIMIT 1
            """
        ).first() != nil
    }

    /// How many jobs are in each state.
    public static func counts(on db: any Database) async throws -> [JobState: Int] {
        let sql = try sqlDatabase(db)
        var counts: [JobState: Int] = [:]
        for row in try await sql.raw("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state").all() {
            if let state = JobState(rawValue: try row.decode(column: "state", as: String.self)) {
                counts[state] = try row.decode(column: "n", as: Int.self)
            }
        }
        return counts
    }

    /// An update that applies only while `owner` holds the job's lease.
    private static func finish(_ id: UUID, owner: String, on db: any Database, set assignments: SQLQueryString) async throws -> Bool {
        let sql = try sqlDatabase(db)
        let row = try await sql.raw(
            """
            UPDATE jobs SET \(assignments)
            WHERE id = \(bind: id) AND state = \(unsafeRaw: JobState.running.sql) AND lease_owner = \(bind: owner)
            RETURNING id
            """
        ).first()
        return row != nil
    }
}

import Domain
import Fluent
import Persistence
import Synchronization
import Vapor

/// The workers: `concurrency` loops that claim jobs, run their handlers, and record
/// the outcome. Runs inside `pictor serve` (JOB_WORKERS > 0) or as `pictor worker`.
public final class JobRunner: Sendable {
    public struct Settings: Sendable {
        public var concurrency: Int
        /// How long a claim lasts without a heartbeat; a dead worker's job is picked up after it.
        public var lease: TimeInterval
        /// Longest wait between looks at the queue when no wake-up arrives.
        public var pollInterval: Duration
        /// On shutdown, how long running jobs may take to finish before they are handed back.
        public var shutdownGrace: Duration
        public var retry: RetryPolicy

        public init(concurrency: Int, lease: TimeInterval, pollInterval: Duration, shutdownGrace: Duration, retry: RetryPolicy) {
            self.concurrency = concurrency
            self.lease = lease
            self.pollInterval = pollInterval
            self.shutdownGrace = shutdownGrace
            self.retry = retry
        }
    }

    /// Unique per process and runner; each of its worker loops holds leases as `owner#n`.
    public let owner: String
    let settings: Settings
    let wake = WakeSignal()
    private let handlers = Mutex<[String: any JobHandler]>([:])
    private let stopping = Atomic<Bool>(false)
    /// True while this process listens for job notifications (PostgreSQL; tests look).
    let listening = Atomic<Bool>(false)
    private let running = Mutex<Task<Void, Never>?>(nil)
    /// When this runner last buried, and last looked to claim, jobs whose workers died.
    private let lastAbandonedSweep = Mutex<ContinuousClock.Instant?>(nil)
    private let lastAbandonedClaim = Mutex<ContinuousClock.Instant?>(nil)

    init(settings: Settings) {
        self.settings = settings
        self.owner = "\(ProcessInfo.processInfo.hostName)/\(getpid())/\(UUID().uuidString.prefix(8))"
    }

    /// Adds the handler for its kind of job (one per kind).
    public func register(_ handler: any JobHandler) {
        handlers.withLock { $0[handler.kind] = handler }
    }

    /// Starts the worker loops in the background.
    func start(app: Application) {
        stopping.store(false, ordering: .relaxed)
        let task = Task { await self.run(app: app) }
        running.withLock { $0 = task }
    }

    /// Stops claiming, lets running jobs finish for up to the grace period, then hands
    /// back (releases) whatever is still running, and returns when all loops have ended.
    func stop() async {
        stopping.store(true, ordering: .relaxed)
        wake.wakeAll()
        guard let task = running.withLock({ $0 }) else { return }
        // After the grace period, cancel: handlers see cancellation and their jobs are released.
        let deadline = Task {
            try await Task.sleep(for: settings.shutdownGrace)
            task.cancel()
        }
        await task.value
        deadline.cancel()
        running.withLock { $0 = nil }
    }

    private func run(app: Application) async {
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<max(settings.concurrency, 1) {
                group.addTask { await self.loop(app: app, index: index) }
            }
        }
    }

    private func loop(app: Application, index: Int) async {
        // Each loop holds leases in its own name: were they the runner's, a loop whose renewal
        // stalled past its lease would not notice that another loop of this runner took the job.
        let holder = "\(owner)#\(index)"
        var logger = app.logger
        logger[metadataKey: "worker"] = .string(holder)
        // After a claim that found work, the next one skips the read that spares an idle queue a write.
        var busy = false
        while !stopping.load(ordering: .relaxed) && !Task.isCancelled {
            do {
                // Leases are taken and compared on the database's time: if the alignment at boot
                // failed, the first claim that can reach the database aligns first.
                if app.pictor.queueClock.alignedAt == nil { try await app.pictor.queueClock.align(on: app.db) }
                // Jobs whose workers died on every attempt are buried at most once a minute, and
                // a runner that can sweep makes sure a sweep is scheduled (one died, or none yet).
                if Self.isDue(lastAbandonedSweep, every: .seconds(60)) {
                    try await JobQueue.buryAbandoned(now: app.pictor.queueClock.now, on: app.db)
                    if handlers.withLock({ $0[Maintenance.jobKind] }) != nil { try await Maintenance.ensureScheduled(app: app) }
                }
                // Jobs whose worker died (lease expired) are looked for by one claim per poll
                // interval; every other claim looks at waiting jobs only.
                if let job = try await JobQueue.claim(
                    owner: holder, leaseFor: settings.lease, now: app.pictor.queueClock.now, expectWork: busy,
                    includeAbandoned: Self.isDue(lastAbandonedClaim, every: settings.pollInterval), on: app.db)
                {
                    busy = true
                    await execute(job, holder: holder, app: app, logger: logger)
                    continue
                }
                busy = false
            } catch {
                logger.error("job queue unavailable", metadata: ["error": .string("\(error)")])
            }
            await wake.wait(upTo: settings.pollInterval)
        }
    }

    /// True, and the time noted, when `every` has passed since `last` was (or it never was).
    private static func isDue(_ last: borrowing Mutex<ContinuousClock.Instant?>, every interval: Duration) -> Bool {
        last.withLock { last in
            let now = ContinuousClock.now
            if let last, now - last < interval { return false }
            last = now
            return true
        }
    }

    private func execute(_ job: ClaimedJob, holder: String, app: Application, logger base: Logger) async {
        let logger = {
            var logger = base
            logger[metadataKey: "job-id"] = .string(job.id.uuidString)
            logger[metadataKey: "job-kind"] = .string(job.kind)
            return logger
        }()
        guard let handler = handlers.withLock({ $0[job.kind] }) else {
            // Perhaps a newer version's kind, claimed by an older worker during an upgrade:
            // retried with backoff like any failure, so a worker that knows it can take it.
            logger.error("no handler for this kind of job")
            await recordFailure(JobFailure.retryable("no handler for \(job.kind)"), of: job, holder: holder, app: app, logger: logger)
            return
        }
        do {
            let completion = CompletionMark()
            // The handler runs only while this worker holds the lease: when the lease is lost
            // (taken over, or not renewed before it ran out), the handler is cancelled and the
            // job's outcome is left to whoever holds it now.
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await handler.run(job, context: JobContext(application: app, logger: logger, job: job, owner: holder, completion: completion))
                }
                group.addTask { try await self.keepLease(job, holder: holder, completion: completion, app: app, logger: logger) }
                try await group.next()
                group.cancelAll()
            }
            if !completion.isMarked, try await JobQueue.complete(job.id, owner: holder, now: app.pictor.queueClock.now, on: app.db) == false {
                logger.warning("job finished after its lease was lost; the new holder's outcome stands")
            }
        } catch is LeaseLost {
            logger.warning("lost the lease on a running job; stopped it, its new holder decides its outcome")
        } catch {
            if Task.isCancelled && stopping.load(ordering: .relaxed) {
                logger.notice("job handed back at shutdown")
                _ = try? await JobQueue.release(job.id, owner: holder, now: app.pictor.queueClock.now, on: app.db)
            } else {
                await recordFailure(error, of: job, holder: holder, app: app, logger: logger)
            }
        }
    }

    private func recordFailure(_ error: any Error, of job: ClaimedJob, holder: String, app: Application, logger: Logger) async {
        let failure = (error as? JobFailure) ?? .retryable(String(describing: error))
        let now = app.pictor.queueClock.now
        let decision = settings.retry.decide(
            attempt: job.attempt, maxAttempts: job.maxAttempts, failure: failure, now: now, unit: Double.random(in: 0..<1))
        do {
            let recorded: Bool
            switch decision {
            case .retry(let at):
                logger.warning(
                    "job failed; will retry",
                    metadata: [
                        "attempt": .stringConvertible(job.attempt), "error": .string(failure.message),
                        "retry-in-s": .string(String(format: "%.1f", at.timeIntervalSince(now))),
                    ])
                recorded = try await JobQueue.reschedule(job.id, owner: holder, error: failure.message, runAt: at, now: now, on: app.db)
            case .postpone(let at):
                logger.info(
                    "job postponed",
                    metadata: [
                        "reason": .string(failure.message), "run-in-s": .string(String(format: "%.1f", at.timeIntervalSince(now))),
                    ])
                recorded = try await JobQueue.postpone(job.id, owner: holder, reason: failure.message, runAt: at, now: now, on: app.db)
            case .bury:
                logger.error(
                    "job failed for good",
                    metadata: [
                        "attempt": .stringConvertible(job.attempt), "error": .string(failure.message),
                    ])
                recorded = try await JobQueue.bury(job.id, owner: holder, error: failure.message, now: now, on: app.db)
            }
            if !recorded { logger.warning("job failed after its lease was lost; the new holder's outcome stands") }
        } catch {
            logger.error("could not record job failure; its lease will expire", metadata: ["error": .string("\(error)")])
        }
    }

    /// Extends the lease every third of its length while the handler runs; throws `LeaseLost`
    /// when another worker holds it, or when renewals keep failing (database trouble) and less
    /// than a third of it may be left, so the handler is cancelled before anyone else can take
    /// the job (unless renewing takes longer than that, or the handler ignores cancellation).
    /// Once the handler has completed the job itself, there is no lease left to keep: its work
    /// after the commit (cleaning up, telling watchers) is not cut short as if it were lost.
    private func keepLease(_ job: ClaimedJob, holder: String, completion: CompletionMark, app: Application, logger: Logger) async throws {
        let third = settings.lease / 3
        let clock = app.pictor.queueClock
        // The claim set the expiry a moment before this began; count from its start, not now.
        var expires = clock.now.addingTimeInterval(settings.lease - 1)
        var wait = third
        while true {
            try await Task.sleep(for: .milliseconds(Int64(wait * 1000)))
            if completion.isMarked { continue }
            let now = clock.now
            let kept: Bool
            do {
                kept = try await JobQueue.extendLease(
                    job.id, owner: holder, until: now.addingTimeInterval(settings.lease), now: now, on: app.db)
            } catch {
                if Task.isCancelled { throw CancellationError() }
                logger.warning("could not renew a job's lease", metadata: ["error": .string("\(error)")])
                let left = expires.timeIntervalSince(clock.now)
                if left <= third { throw LeaseLost() }
                // Try again while more than a third would still be left.
                wait = min(third, left - third)
                continue
            }
            // A renewal that waited on the row while the handler's final transaction committed
            // finds the job done: that is no lost lease.
            guard kept || completion.isMarked else { throw LeaseLost() }
            expires = now.addingTimeInterval(settings.lease)
            wait = third
        }
    }

    /// A job notification (PostgreSQL), sent at the commit of an enqueue by the process named.
    /// This process's own stands for one job whose enqueue woke a worker already — perhaps
    /// before its transaction committed, too early to see the row: it wakes one more. Another
    /// process's may stand for many jobs: it wakes them all.
    func notified(by sender: String) {
        if sender == JobQueue.thisProcess { wake.wakeOne() } else { wake.wakeAll() }
    }

    /// On PostgreSQL, the enqueues of every process: once listening (again), one wake-up for
    /// all, as jobs may have been enqueued while the connection was down.
    var notifications: DatabaseNotifications.Subscription {
        DatabaseNotifications.Subscription(
            channel: JobQueue.channel,
            listening: { listening in
                if listening { self.wake.wakeAll() }
                self.listening.store(listening, ordering: .relaxed)
            }, received: { self.notified(by: $0) })
    }
}

/// Thrown by the heartbeat when this worker no longer holds a running job's lease.
struct LeaseLost: Error {}

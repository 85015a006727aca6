import Domain
import Foundation
import Persistence
import SQLKit
import Synchronization
import Testing
import Vapor

@testable import App

/// A handler whose behaviour each test scripts.
final class ScriptedHandler: JobHandler {
    let kind: String
    let runs = Locked<[String: Int]>([:])
    let behaviour: @Sendable (ClaimedJob, Int) async throws -> Void

    init(kind: String, behaviour: @escaping @Sendable (ClaimedJob, Int) async throws -> Void) {
        self.kind = kind
        self.behaviour = behaviour
    }

    func run(_ job: ClaimedJob, context: JobContext) async throws {
        let count = runs.update { runs in
            runs[job.payload, default: 0] += 1
            return runs[job.payload]!
        }
        try await behaviour(job, count)
    }

    var totalRuns: Int { runs.value.values.reduce(0, +) }
}

/// Installs a runner with fast settings and starts it; stops it when `body` ends.
func withRunner<T>(
    _ app: Application, handlers: [any JobHandler], grace: Duration = .seconds(5), lease: TimeInterval = 30,
    poll: Duration = .milliseconds(100), retry: RetryPolicy = RetryPolicy(baseDelay: 0.05, maxDelay: 0.2, jitter: 0),
    _ body: (JobRunner) async throws -> T
) async throws -> T {
    let runner = JobRunner(
        settings: .init(
            concurrency: 3, lease: lease, pollInterval: poll, shutdownGrace: grace, retry: retry))
    handlers.forEach(runner.register)
    app.pictor = app.pictor.with(jobs: runner)
    // As in `pictor worker`: on PostgreSQL the runner hears of other processes' enqueues.
    let notifications = DatabaseNotifications([runner.notifications])
    try await notifications.didBootAsync(app)
    runner.start(app: app)
    do {
        let result = try await body(runner)
        await runner.stop()
        await notifications.shutdownAsync(app)
        return result
    } catch {
        await runner.stop()
        await notifications.shutdownAsync(app)
        throw error
    }
}

/// Polls until `condition` holds or `seconds` pass.
func eventually(within seconds: Double = 10, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

@Suite struct JobRunnerTests {
    @Test func enqueuedJobsRunOnceEach() async throws {
        try await withPictor { app in
            let handler = ScriptedHandler(kind: "test.ok") { _, _ in }
            try await withRunner(app, handlers: [handler]) { _ in
                for n in 0..<30 { try await app.enqueue(NewJob(kind: "test.ok", payload: "\(n)"), on: app.db) }
                #expect(try await eventually { try await JobQueue.counts(on: app.db) == [.succeeded: 30] })
            }
            #expect(handler.totalRuns == 30)
            #expect(handler.runs.value.values.allSatisfy { $0 == 1 })
        }
    }

    @Test func retryableFailuresAreRetriedUntilTheySucceed() async throws {
        try await withPictor { app in
            let handler = ScriptedHandler(kind: "test.flaky") { _, run in
                if run < 3 { throw JobFailure.retryable("provider answered 503") }
            }
            try await withRunner(app, handlers: [handler]) { _ in
                let id = try await app.enqueue(NewJob(kind: "test.flaky", payload: "x"), on: app.db)
                #expect(try await eventually { try await JobQueue.snapshot(id, on: app.db)?.state == .succeeded })
                let job = try #require(try await JobQueue.snapshot(id, on: app.db))
                #expect(job.attempts == 3)
                #expect(job.lastError == "provider answered 503")
            }
        }
    }

    @Test func permanentFailureGoesStraightToDeadLetter() async throws {
        try await withPictor { app in
            let handler = ScriptedHandler(kind: "test.refused") { _, _ in throw JobFailure.permanent("payload names no user") }
            try await withRunner(app, handlers: [handler]) { _ in
                let id = try await app.enqueue(NewJob(kind: "test.refused", payload: "x"), on: app.db)
                #expect(try await eventually { try await JobQueue.snapshot(id, on: app.db)?.state == .dead })
                #expect(try await JobQueue.snapshot(id, on: app.db)?.lastError == "payload names no user")
            }
            #expect(handler.totalRuns == 1)
        }
    }

    @Test func unknownErrorsAreRetriedUntilAttemptsRunOut() async throws {
        struct Boom: Error {}
        try await withPictor { app in
            let handler = ScriptedHandler(kind: "test.boom") { _, _ in throw Boom() }
            try await withRunner(app, handlers: [handler]) { _ in
                let id = try await app.enqueue(NewJob(kind: "test.boom", payload: "x", maxAttempts: 3), on: app.db)
                #expect(try await eventually { try await JobQueue.snapshot(id, on: app.db)?.state == .dead })
            }
            #expect(handler.totalRuns == 3)
        }
    }

    /// A kind this version has no handler for (a newer version's, during an upgrade) is retried
    /// like any failure, so a worker that knows it can take it, and buried with the reason last.
    @Test func jobWithoutAHandlerIsRetriedThenBuriedWithAReason() async throws {
        try await withPictor { app in
            try await withRunner(app, handlers: []) { _ in
                let id = try await app.enqueue(NewJob(kind: "test.nobody", payload: "x", maxAttempts: 2), on: app.db)
                #expect(try await eventually { try await JobQueue.snapshot(id, on: app.db)?.state == .dead })
                let job = try #require(try await JobQueue.snapshot(id, on: app.db))
                #expect(job.attempts == 2)
                #expect(job.lastError == "no handler for test.nobody")
            }
        }
    }

    /// A worker whose lease was taken over (it looked dead: paused, or cut off from the
    /// database) stops its handler at the next heartbeat and records nothing, so two workers
    /// never carry on with one job and the new holder's outcome stands.
    @Test func aWorkerThatLosesItsLeaseStopsItsJob() async throws {
        try await withPictor { app in
            let started = Locked(false)
            let stopped = Locked(false)
            let handler = ScriptedHandler(kind: "test.taken") { _, _ in
                started.update { $0 = true }
                do { try await Task.sleep(for: .seconds(30)) } catch {
                    stopped.update { $0 = true }
                    throw error
                }
            }
            // Heartbeats every 0.3 s.
            try await withRunner(app, handlers: [handler], lease: 0.9) { _ in
                let id = try await app.enqueue(NewJob(kind: "test.taken", payload: "x"), on: app.db)
                #expect(try await eventually { started.value })
                // Taken over as a real new holder would: its own lease, running a while yet.
                try await sqlDatabase(app.db).raw(
                    """
                    UPDATE jobs SET lease_owner = 'another-worker', lease_expires_at = \(bind: Date().addingTimeInterval(600)) WHERE id = \(bind: id)
                    """
                ).run()
                #expect(try await eventually(within: 5) { stopped.value })
                try await Task.sleep(for: .milliseconds(300))
                let job = try #require(try await JobQueue.snapshot(id, on: app.db))
                #expect(job.state == .running && job.leaseOwner == "another-worker" && job.lastError == nil)
            }
            #expect(handler.totalRuns == 1)
        }
    }

    /// SIGTERM-style stop: a job still running after the grace period is handed back, not lost.
    @Test func shutdownHandsBackJobsThatDoNotFinishInTime() async throws {
        try await withPictor { app in
            let started = Locked(false)
            let handler = ScriptedHandler(kind: "test.slow") { _, _ in
                started.update { $0 = true }
                try await Task.sleep(for: .seconds(60))
            }
            let id = try await withRunner(app, handlers: [handler], grace: .milliseconds(200)) { _ in
                let id = try await app.enqueue(NewJob(kind: "test.slow", payload: "x"), on: app.db)
                #expect(try await eventually { started.value })
                return id
            }
            let job = try #require(try await JobQueue.snapshot(id, on: app.db))
            #expect(job.state == .queued)
            #expect(job.attempts == 0)
            #expect(job.leaseOwner == nil)
        }
    }

    @Test func shutdownWaitsForJobsThatFinishWithinGrace() async throws {
        try await withPictor { app in
            let started = Locked(false)
            let handler = ScriptedHandler(kind: "test.short") { _, _ in
                started.update { $0 = true }
                try await Task.sleep(for: .milliseconds(300))
            }
            let id = try await withRunner(app, handlers: [handler], grace: .seconds(5)) { _ in
                let id = try await app.enqueue(NewJob(kind: "test.short", payload: "x"), on: app.db)
                #expect(try await eventually { started.value })
                return id
            }
            #expect(try await JobQueue.snapshot(id, on: app.db)?.state == .succeeded)
        }
    }

    @Test func longJobsKeepTheirLeaseByHeartbeat() async throws {
        try await withPictor { app in
            // The job outlives its lease (3 s) by a second; heartbeats every second keep it.
            let handler = ScriptedHandler(kind: "test.long") { _, _ in try await Task.sleep(for: .seconds(4)) }
            try await withRunner(app, handlers: [handler], lease: 3) { _ in
                let id = try await app.enqueue(NewJob(kind: "test.long", payload: "x"), on: app.db)
                #expect(try await eventually { try await JobQueue.snapshot(id, on: app.db)?.state == .succeeded })
                #expect(try await JobQueue.snapshot(id, on: app.db)?.attempts == 1)
            }
        }
    }

    /// The worker loops of one runner hold leases in names of their own: were they the
    /// runner's, a loop whose renewal stalled past its lease would renew it again after
    /// another loop of the same runner had taken the job, and both would run it.
    @Test func eachWorkerLoopHoldsLeasesInItsOwnName() async throws {
        try await withPictor { app in
            let release = Locked(false)
            let handler = ScriptedHandler(kind: "test.held") { _, _ in
                while !release.value { try await Task.sleep(for: .milliseconds(20)) }
            }
            try await withRunner(app, handlers: [handler]) { runner in
                let first = try await app.enqueue(NewJob(kind: "test.held", payload: "one"), on: app.db)
                let second = try await app.enqueue(NewJob(kind: "test.held", payload: "two"), on: app.db)
                #expect(try await eventually { handler.totalRuns == 2 })
                let owners = [
                    try await JobQueue.snapshot(first, on: app.db)?.leaseOwner,
                    try await JobQueue.snapshot(second, on: app.db)?.leaseOwner,
                ]
                #expect(owners[0] != owners[1], "\(owners)")
                #expect(owners.allSatisfy { $0?.hasPrefix(runner.owner + "#") == true }, "\(owners)")
                release.update { $0 = true }
                #expect(try await eventually { try await JobQueue.snapshot(second, on: app.db)?.state == .succeeded })
            }
        }
    }

    /// On PostgreSQL an enqueue's notification (sent at commit) wakes a worker long before the
    /// 60-second poll would: here the job is enqueued with no in-process wake-up at all, as a
    /// job enqueued inside a transaction is by the time its row can be seen.
    @Test(.enabled(if: TestDatabase.engine == "postgres"))
    func notificationsWakeWorkersLongBeforeThePoll() async throws {
        try await withPictor { app in
            let handler = ScriptedHandler(kind: "test.notified") { _, _ in }
            try await withRunner(app, handlers: [handler], poll: .seconds(60)) { runner in
                // The listener connects in the background (and then wakes everyone once); after
                // that, every worker waits for a wake-up or the 60-second poll.
                #expect(try await eventually(within: 20) { runner.listening.load(ordering: .relaxed) })
                #expect(try await eventually(within: 10) { runner.wake.waiting == 3 })
                let id = try await JobQueue.enqueue(NewJob(kind: "test.notified", payload: "x"), now: Date(), on: app.db)
                #expect(try await eventually(within: 5) { try await JobQueue.snapshot(id, on: app.db)?.state == .succeeded })
            }
        }
    }

    /// This process's own notification wakes one idle worker (its enqueue woke one already);
    /// another process's, which may stand for many jobs, wakes them all.
    @Test func ownNotificationsWakeOneWorkerOthersWakeAll() async throws {
        let runner = JobRunner(
            settings: .init(
                concurrency: 3, lease: 30, pollInterval: .seconds(120), shutdownGrace: .seconds(1), retry: RetryPolicy()))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<3 { group.addTask { await runner.wake.wait(upTo: .seconds(120)) } }
            #expect(try await eventually(within: 30) { runner.wake.waiting == 3 })
            runner.notified(by: JobQueue.thisProcess)
            #expect(runner.wake.waiting == 2)
            runner.notified(by: "another-process")
            #expect(runner.wake.waiting == 0)
            try await group.waitForAll()
        }
    }

    /// A handler that completes its job in its own transaction and then goes on (cleaning up
    /// after the commit) is not stopped by a lease renewal that finds the job already done.
    @Test func aHandlerThatCompletedItsJobIsNotCutShortByTheLeaseRenewal() async throws {
        struct CompletesThenCleansUp: JobHandler {
            let kind = "completes-early"
            let cleanedUp = Locked(false)
            func run(_ job: ClaimedJob, context: JobContext) async throws {
                _ = try await context.complete(on: context.application.db)
                try await Task.sleep(for: .milliseconds(500))  // past a renewal: a third of the 0.6 s lease
                cleanedUp.update { $0 = true }
            }
        }
        try await withPictor { app in
            let handler = CompletesThenCleansUp()
            let id = try await JobQueue.enqueue(NewJob(kind: handler.kind, payload: "x"), now: Date(), on: app.db)
            try await withRunner(app, handlers: [handler], lease: 0.6, poll: .milliseconds(50)) { (_: JobRunner) async throws in
                #expect(try await eventually(within: 20) { handler.cleanedUp.value }, "the handler was stopped after completing its job")
            }
            #expect(try await JobQueue.snapshot(id, on: app.db)?.state == .succeeded)
        }
    }
}

import Foundation
import Persistence
import SQLKit
import Testing
import Vapor

@testable import App

/// The job queue keeps the database's time, so that workers on machines whose clocks disagree
/// agree on when a lease has run out.
@Suite struct QueueClockTests {
    @Test func aClockAlignsToTheDatabasesTime() async throws {
        try await withPictor { app in
            // A machine an hour fast.
            let clock = QueueClock(localNow: { Date().addingTimeInterval(3600) })
            #expect(clock.now.timeIntervalSinceNow > 3599)
            try await clock.align(on: app.db)
            #expect(abs(clock.now.timeIntervalSinceNow) < 1, "\(clock.now) against \(Date())")
            #expect(abs(clock.measuredOffset + 3600) < 1, "\(clock.measuredOffset)")
        }
    }

    /// Once aligned, the clock runs on this machine's monotonic clock: a step of the wall clock
    /// (an NTP correction, a resumed VM) does not move it.
    @Test func aStepOfTheWallClockDoesNotMoveAnAlignedClock() async throws {
        try await withPictor { app in
            let step = Locked<TimeInterval>(0)
            let clock = QueueClock(localNow: { Date().addingTimeInterval(step.value) })
            try await clock.align(on: app.db)
            step.update { $0 = 600 }
            #expect(abs(clock.now.timeIntervalSinceNow) < 1, "\(clock.now) against \(Date())")
            try await clock.align(on: app.db)
            #expect(abs(clock.measuredOffset + 600) < 1, "the new offset is measured: \(clock.measuredOffset)")
        }
    }

    /// `pictor serve` (and `pictor worker`) align at boot, before the workers start.
    @Test func theServerAlignsItsQueueClockAtBoot() async throws {
        try await withPictor { app in
            #expect(app.pictor.queueClock.alignedAt == nil)
            try await app.asyncBoot()
            #expect(app.pictor.queueClock.alignedAt != nil, "the clock was not aligned at boot")
            #expect(abs(app.pictor.queueClock.measuredOffset) < 1)
        }
    }

    /// Another worker, on a machine whose clock is right, holds a job for 30 s. A worker on a
    /// machine two minutes fast would take it at once, and run it a second time, unless it
    /// follows the database's clock.
    @Test func aWorkerWhoseClockRunsFastLeavesOthersLeasesAlone() async throws {
        try await withPictor { app in
            let handler = ScriptedHandler(kind: "held-elsewhere") { _, _ in }
            let id = try await JobQueue.enqueue(NewJob(kind: "held-elsewhere", payload: "job"), now: Date(), on: app.db)
            #expect(try await JobQueue.claim(owner: "elsewhere", leaseFor: 30, now: Date(), on: app.db)?.id == id)

            let aligned = QueueClock(localNow: { Date().addingTimeInterval(120) })
            try await aligned.align(on: app.db)
            app.pictor = app.pictor.with(queueClock: aligned)
            try await withRunner(app, handlers: [handler], lease: 30, poll: .milliseconds(50)) { _ in
                // A dozen polls, each of which looks for jobs whose lease ran out.
                try await Task.sleep(for: .milliseconds(600))
            }
            #expect(handler.totalRuns == 0, "the job was taken from the worker that holds it")
            let holder = try await sqlDatabase(app.db).raw("SELECT lease_owner FROM jobs WHERE id = \(bind: id)").first()
            let owner = try holder?.decode(column: "lease_owner", as: String.self)
            #expect(owner == "elsewhere")

            // A worker whose alignment at boot failed (the database was not reachable yet) aligns
            // before its first claim, rather than claiming by its own clock meanwhile.
            let unaligned = QueueClock(localNow: { Date().addingTimeInterval(120) })
            app.pictor = app.pictor.with(queueClock: unaligned)
            try await withRunner(app, handlers: [handler], lease: 30, poll: .milliseconds(50)) { _ in
                try await Task.sleep(for: .milliseconds(600))
            }
            #expect(handler.totalRuns == 0, "the unaligned worker took the job")
            #expect(unaligned.alignedAt != nil)

            // Going by its own clock, it would have: what the alignment prevents.
            let fast = QueueClock(localNow: { Date().addingTimeInterval(120) })
            #expect(try await JobQueue.claim(owner: "fast", leaseFor: 30, now: fast.now, on: app.db)?.id == id)
        }
    }
}

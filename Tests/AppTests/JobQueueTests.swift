import Domain
import Foundation
import Persistence
import Synchronization
import Testing
import Vapor

@testable import App

@Suite struct JobQueueTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func claimCompleteRoundTrip() async throws {
        try await withPictor { app in
            let id = try await JobQueue.enqueue(NewJob(kind: "test.echo", payload: #"{"n":1}"#), now: t0, on: app.db)
            let job = try #require(try await JobQueue.claim(owner: "w1", leaseFor: 60, now: t0, on: app.db))
            #expect(job == ClaimedJob(id: id, kind: "test.echo", payload: #"{"n":1}"#, attempt: 1, maxAttempts: 5))
            #expect(try await JobQueue.claim(owner: "w2", leaseFor: 60, now: t0, on: app.db) == nil, "leased: nobody else gets it")
            #expect(try await JobQueue.complete(id, owner: "w1", now: t0, on: app.db))
            let done = try #require(try await JobQueue.snapshot(id, on: app.db))
            #expect(done.state == .succeeded && done.attempts == 1 && done.finishedAt != nil && done.leaseOwner == nil)
        }
    }

    @Test func dueJobsComeOutOldestFirstAndFutureOnesWait() async throws {
        try await withPictor { app in
            let later = try await JobQueue.enqueue(NewJob(kind: "k", payload: "{}", runAt: t0.addingTimeInterval(30)), now: t0, on: app.db)
            let second = try await JobQueue.enqueue(NewJob(kind: "k", payload: "{}", runAt: t0.addingTimeInterval(-5)), now: t0, on: app.db)
            let first = try await JobQueue.enqueue(NewJob(kind: "k", payload: "{}", runAt: t0.addingTimeInterval(-10)), now: t0, on: app.db)
            #expect(try await JobQueue.claim(owner: "w", leaseFor: 60, now: t0, on: app.db)?.id == first)
            #expect(try await JobQueue.claim(owner: "w", leaseFor: 60, now: t0, on: app.db)?.id == second)
            #expect(try await JobQueue.claim(owner: "w", leaseFor: 60, now: t0, on: app.db) == nil)
            #expect(try await JobQueue.claim(owner: "w", leaseFor: 60, now: t0.addingTimeInterval(31), on: app.db)?.id == later)
        }
    }

    @Test func expiredLeaseIsClaimedAgainAndTheOldHolderIsFencedOut() async throws {
        try await withPictor { app in
            let id = try await JobQueue.enqueue(NewJob(kind: "k", payload: "{}"), now: t0, on: app.db)
            _ = try await JobQueue.claim(owner: "dead-worker", leaseFor: 60, now: t0, on: app.db)
            #expect(try await JobQueue.claim(owner: "w2", leaseFor: 60, now: t0.addingTimeInterval(59), on: app.db) == nil)
            let again = try #require(try await JobQueue.claim(owner: "w2", leaseFor: 60, now: t0.addingTimeInterval(61), on: app.db))
            #expect(again.id == id && again.attempt == 2)
            #expect(try await JobQueue.complete(id, owner: "dead-worker", now: t0.addingTimeInterval(62), on: app.db) == false)
            #expect(try await JobQueue.extendLease(id, owner: "dead-worker", until: t0.addingTimeInterval(999), now: t0, on: app.db) == false)
            #expect(try await JobQueue.complete(id, owner: "w2", now: t0.addingTimeInterval(62), on: app.db))
        }
    }

    /// When the runner looks for a dead worker's job it looks there first, so a queue that
    /// never empties does not keep that job (and its generation) waiting.
    @Test func aDeadWorkersJobComesBeforeWaitingOnesWhenLookedFor() async throws {
        try await withPictor { app in
            let abandoned = try await JobQueue.enqueue(NewJob(kind: "k", payload: "{}"), now: t0, on: app.db)
            _ = try await JobQueue.claim(owner: "dead-worker", leaseFor: 60, now: t0, on: app.db)
            let waiting = try await JobQueue.enqueue(NewJob(kind: "k", payload: "{}"), now: t0, on: app.db)
            let later = t0.addingTimeInterval(61)
            #expect(try await JobQueue.claim(owner: "w", leaseFor: 60, now: later, includeAbandoned: false, on: app.db)?.id == waiting)
            _ = try await JobQueue.enqueue(NewJob(kind: "k", payload: "{}"), now: t0, on: app.db)
            #expect(try await JobQueue.claim(owner: "w", leaseFor: 60, now: later, includeAbandoned: true, on: app.db)?.id == abandoned)
        }
    }

    @Test func heartbeatKeepsTheLease() async throws {
        try await withPictor { app in
            _ = try await JobQueue.enqueue(NewJob(kind: "k", payload: "{}"), now: t0, on: app.db)
            let job = try #require(try await JobQueue.claim(owner: "w1", leaseFor: 60, now: t0, on: app.db))
            #expect(
                try await JobQueue.extendLease(job.id, owner: "w1", until: t0.addingTimeInterval(120), now: t0.addingTimeInterval(50), on: app.db))
            #expect(try await JobQueue.claim(owner: "w2", leaseFor: 60, now: t0.addingTimeInterval(90), on: app.db) == nil)
        }
    }

    @Test func rescheduleReleaseAndBury() async throws {
        try await withPictor { app in
            let id = try await JobQueue.enqueue(NewJob(kind: "k", payload: "{}", maxAttempts: 3), now: t0, on: app.db)
            _ = try await JobQueue.claim(owner: "w", leaseFor: 60, now: t0, on: app.db)
            #expect(try await JobQueue.reschedule(id, owner: "w", error: "timeout", runAt: t0.addingTimeInterval(10), now: t0, on: app.db))
            #expect(try await JobQueue.claim(owner: "w", leaseFor: 60, now: t0.addingTimeInterval(5), on: app.db) == nil)
            let retried = try #require(try await JobQueue.claim(owner: "w", leaseFor: 60, now: t0.addingTimeInterval(10), on: app.db))
            #expect(retried.attempt == 2)
            #expect(try await JobQueue.release(id, owner: "w", now: t0.addingTimeInterval(11), on: app.db))
            let afterRelease = try #require(try await JobQueue.snapshot(id, on: app.db))
            #expect(afterRelease.state == .queued && afterRelease.attempts == 1, "a handed-back run is not an attempt")
            _ = try await JobQueue.claim(owner: "w", leaseFor: 60, now: t0.addingTimeInterval(11), on: app.db)
            #expect(try await JobQueue.bury(id, owner: "w", error: "refused", now: t0.addingTimeInterval(12), on: app.db))
            let dead = try #require(try await JobQueue.snapshot(id, on: app.db))
            #expect(dead.state == .dead && dead.lastError == "refused")
            #expect(try await JobQueue.counts(on: app.db) == [.dead: 1])
        }
    }

    @Test func jobWhoseWorkerDiesOnEveryAttemptIsBuried() async throws {
        try await withPictor { app in
            let id = try await JobQueue.enqueue(NewJob(kind: "k", payload: "{}", maxAttempts: 2), now: t0, on: app.db)
            _ = try await JobQueue.claim(owner: "a", leaseFor: 10, now: t0, on: app.db)
            _ = try await JobQueue.claim(owner: "b", leaseFor: 10, now: t0.addingTimeInterval(11), on: app.db)
            #expect(try await JobQueue.claim(owner: "c", leaseFor: 10, now: t0.addingTimeInterval(22), on: app.db) == nil)
            #expect(try await JobQueue.buryAbandoned(now: t0.addingTimeInterval(22), on: app.db) == 1)
            #expect(try await JobQueue.snapshot(id, on: app.db)?.state == .dead)
        }
    }

    /// Many workers claiming at once never get the same job: each of 200 jobs runs exactly once.
    @Test func concurrentClaimsTakeEachJobExactlyOnce() async throws {
        try await withPictor { app in
            let now = Date()
            for n in 0..<200 {
                try await JobQueue.enqueue(NewJob(kind: "k", payload: "{\"n\":\(n)}"), now: now, on: app.db)
            }
            let claims = Locked<[UUID: Int]>([:])
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        while let job = try await JobQueue.claim(owner: "w\(worker)", leaseFor: 60, now: Date(), on: app.db) {
                            claims.update { $0[job.id, default: 0] += 1 }
                            #expect(try await JobQueue.complete(job.id, owner: "w\(worker)", now: Date(), on: app.db))
                        }
                    }
                }
                try await group.waitForAll()
            }
            let counted = claims.value
            #expect(counted.count == 200)
            #expect(counted.values.allSatisfy { $0 == 1 })
            #expect(try await JobQueue.counts(on: app.db) == [.succeeded: 200])
        }
    }
}

@Suite struct RetryPolicyTests {
    let policy = RetryPolicy(baseDelay: 2, maxDelay: 60, jitter: 0.2)

    @Test func delaysDoubleWithinJitterUpToTheCap() {
        #expect(policy.delay(afterAttempt: 1, unit: 0.5) == 2)
        #expect(policy.delay(afterAttempt: 2, unit: 0.5) == 4)
        #expect(policy.delay(afterAttempt: 3, unit: 0.5) == 8)
        #expect(policy.delay(afterAttempt: 20, unit: 0.5) == 60)
        #expect(policy.delay(afterAttempt: 3, unit: 0) == 8 * 0.8)
        #expect(policy.delay(afterAttempt: 3, unit: 0.999_999) > 8 * 1.19)
    }

    @Test func permanentFailuresAndLastAttemptsAreBuried() {
        let now = Date(timeIntervalSince1970: 0)
        #expect(policy.decide(attempt: 1, maxAttempts: 5, failure: .permanent("bad"), now: now, unit: 0.5) == .bury)
        #expect(policy.decide(attempt: 5, maxAttempts: 5, failure: .retryable("503"), now: now, unit: 0.5) == .bury)
        #expect(
            policy.decide(attempt: 2, maxAttempts: 5, failure: .retryable("503"), now: now, unit: 0.5) == .retry(at: Date(timeIntervalSince1970: 4)))
    }
}

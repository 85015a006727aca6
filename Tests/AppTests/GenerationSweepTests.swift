@testable import App
import Fluent
import Foundation
import Persistence
import Storage
import Testing
import Vapor

@Suite struct GenerationSweepTests {
    @Test func aGenerationWhoseJobDiedIsEndedFree() async throws {
        try await withPictor { app in
            let credits = RecordingCredits()
            app.pictor = app.pictor.with(credits: credits)
            let browser = try await signedInForAPI(app, email: "orphan@example.com")
            let created: GenerationView = try await browser.generate(#"{"prompt":"a lost kite","size":"512x512"}"#).decoded()
            let waiting: GenerationView = try await browser.generate(#"{"prompt":"a patient kite","size":"512x512"}"#).decoded()
            let jobID = try #require(try await GenerationModel.find(created.id, on: app.db)?.jobID)
            // The job died on every attempt (what JobQueue.buryAbandoned leaves).
            try await sqlDatabase(app.db).raw("UPDATE jobs SET state = 'dead' WHERE id = \(bind: jobID)").run()

            #expect(try await GenerationSweeps.endOrphaned(app: app) == 1)
            let ended = try await browser.generation(created.id)
            #expect(ended.status == "failed" && ended.reason?.contains("not charged") == true)
            #expect(credits.settlements(of: created.id).map(\.captured) == [0])
            #expect(try await browser.generation(waiting.id).status == "queued")
            #expect(try await GenerationSweeps.endOrphaned(app: app) == 0)
        }
    }

    @Test func bytesWithoutARowAreRemovedOnceTheirGenerationEnded() async throws {
        try await withPictor { app in
            let browser = try await signedInForAPI(app, email: "tidy@example.com")
            let done = try await withRunner(app, handlers: workHandlers) { _ in
                let created: GenerationView = try await browser.generate(#"{"prompt":"a tidy room","size":"512x512"}"#).decoded()
                return try await browser.finished(created.id)
            }
            let queued: GenerationView = try await browser.generate(#"{"prompt":"in flight","size":"512x512"}"#).decoded()
            let user = try #require(try await UserModel.query(on: app.db).first()?.id).uuidString.lowercased()
            let stray = try BlobKey("users/\(user)/generations/\(done.id.uuidString.lowercased()).0-killed.png")
            let gone = try BlobKey("users/\(user)/generations/\(UUID().uuidString.lowercased()).0-x.png")
            let inFlight = try BlobKey("users/\(user)/generations/\(queued.id.uuidString.lowercased()).0-y.png")
            for key in [stray, gone, inFlight] { try await app.pictor.blobs.put(Data("sealed".utf8), at: key) }

            #expect(try await GenerationSweeps.removeUnrecordedBlobs(app: app) == 2)
            let left = try await app.pictor.blobs.list(prefix: "users/").map(\.rawValue)
            #expect(!left.contains(stray.rawValue) && !left.contains(gone.rawValue) && left.contains(inFlight.rawValue))
            #expect(left.count == 3)  // the recorded image, its thumbnail, and the in-flight blob
            #expect(try await browser.api(.GET, try #require(done.images.first).url).status == .ok)
        }
    }

    /// Reference bytes without a row (an upload that died between its bytes and its row), and
    /// temporary files a killed process left, go once they are an hour old; younger ones may
    /// be an upload or a write in flight and stay.
    @Test func referenceBytesWithoutARowAreRemovedOnceOld() async throws {
        try await withPictor { app in
            let browser = try await signedInForAPI(app, email: "uploader@example.com")
            let kept: ReferenceImageTests.Reference = try await browser.apiBytes(
                .POST, "/api/v1/reference-images", multipart: try ReferenceImageTests.photoWithComment("x")).decoded()
            let user = try #require(try await ReferenceImageModel.find(kept.id, on: app.db)?.userID).uuidString.lowercased()
            let stray = try BlobKey("users/\(user)/references/\(UUID().uuidString.lowercased()).png")
            try await app.pictor.blobs.put(Data("sealed".utf8), at: stray)
            // And half a file in the local store's temporary folder, as a killed process leaves it.
            let partial = URL(fileURLWithPath: app.pictor.config.blobDirectory).appendingPathComponent(".partial/left-by-a-crash")
            try Data("half".utf8).write(to: partial)

            #expect(try await GenerationSweeps.removeUnrecordedBlobs(app: app) == 0)
            let later = Date().addingTimeInterval(GenerationSweeps.inFlightGrace + 60)
            #expect(try await GenerationSweeps.removeUnrecordedBlobs(app: app, now: later) == 2)
            #expect(!FileManager.default.fileExists(atPath: partial.path))
            let left = try await app.pictor.blobs.list(prefix: "users/").map(\.rawValue)
            #expect(left.count == 1 && !left.contains(stray.rawValue))
            #expect(try await browser.api(.GET, "/api/v1/reference-images/\(kept.id)/file").status == .ok)
        }
    }

    @Test func workersScheduleOneRecurringSweep() async throws {
        try await withPictor { app in
            try await Maintenance.ensureScheduled(app: app)
            try await Maintenance.ensureScheduled(app: app)
            #expect(try await jobCount(kind: Maintenance.jobKind, on: app.db) == 1)
            try await withRunner(app, handlers: [MaintenanceHandler()]) { _ in
                let rescheduled = try await eventually { try await jobCount(kind: Maintenance.jobKind, on: app.db) == 2 }
                #expect(rescheduled)
            }
            let next = try await sqlDatabase(app.db).raw("SELECT run_at FROM jobs WHERE kind = \(bind: Maintenance.jobKind) AND state = 'queued'").first()
            let runAt = try #require(try next?.decode(column: "run_at", as: Date.self))
            #expect(runAt.timeIntervalSinceNow > Maintenance.interval - 60)
        }
    }

    /// A sweep whose attempts ran out while the database or the blob store was down is
    /// replaced by a runner that can sweep (when it starts, then once a minute).
    @Test func aSweepThatDiedIsReplaced() async throws {
        try await withPictor { app in
            let dead = try await JobQueue.enqueue(NewJob(kind: Maintenance.jobKind, payload: "{}", maxAttempts: 1), now: Date(), on: app.db)
            _ = try await JobQueue.claim(owner: "w", leaseFor: 60, now: Date(), on: app.db)
            #expect(try await JobQueue.bury(dead, owner: "w", error: "blob store unavailable", now: Date(), on: app.db))
            try await withRunner(app, handlers: [MaintenanceHandler()]) { _ in
                let swept = try await eventually { try await jobCount(kind: Maintenance.jobKind, state: "succeeded", on: app.db) == 1 }
                #expect(swept)
            }
            #expect(try await jobCount(kind: Maintenance.jobKind, state: "queued", on: app.db) == 1)
        }
    }

    /// Two sweeps scheduled at once (two processes starting together) end as one chain.
    @Test func twoSweepChainsBecomeOne() async throws {
        try await withPictor { app in
            for _ in 0..<2 { try await JobQueue.enqueue(NewJob(kind: Maintenance.jobKind, payload: "{}", maxAttempts: 3), now: Date(), on: app.db) }
            try await withRunner(app, handlers: [MaintenanceHandler()]) { _ in
                let swept = try await eventually { try await jobCount(kind: Maintenance.jobKind, state: "succeeded", on: app.db) == 2 }
                #expect(swept)
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(try await jobCount(kind: Maintenance.jobKind, state: "queued", on: app.db) == 1)
        }
    }
}

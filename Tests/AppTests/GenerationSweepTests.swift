import Domain
import Fluent
import Foundation
import Persistence
import Providers
import Storage
import Testing
import Vapor

@testable import App

@Suite struct GenerationSweepTests {
    /// On the last attempt the final transaction fails after marking the job done in it (here
    /// the credits cannot be captured): the generation ends failed and free, and its job ends
    /// with it instead of staying `running` until its lease runs out.
    @Test func aFinalTransactionFailingOnTheLastAttemptEndsItsJob() async throws {
        try await withPictor { app in
            app.pictor = app.pictor.with(
                models: ModelCatalog(entries: [
                    .init(id: "once", provider: ScriptedProvider(id: "once"), pricePerImage: 1, timeout: .seconds(5), maxAttempts: 1, styles: [])
                ]), credits: CaptureRefused())
            let browser = try await signedInForAPI(app, email: "refused-capture@example.com")
            try await withRunner(app, handlers: workHandlers, lease: 600) { _ in
                let created: GenerationView = try await browser.generate(#"{"model":"once","prompt":"a kite","size":"64x64"}"#).decoded()
                let done = try await browser.finished(created.id)
                #expect(done.status == "failed" && done.creditsCharged == 0 && done.images.isEmpty, "\(done.status)")
                let job = try #require(try await GenerationModel.find(created.id, on: app.db)?.jobID)
                let ended = try await eventually(within: 5) { try await JobQueue.snapshot(job, on: app.db)?.state == .succeeded }
                let state = try await JobQueue.snapshot(job, on: app.db)?.state
                #expect(ended, "the job is \(String(describing: state))")
            }
        }
    }

    /// An attempt that fails on storage (not on the provider) is tried again after a backoff,
    /// and meanwhile the generation is back in the queue, not shown running with old progress.
    @Test func aStorageFailureSendsTheGenerationBackToTheQueueUntilItsRetry() async throws {
        try await withPictor { app in
            let blobs = FailingOnceBlobs(app.pictor.blobs)
            app.pictor = app.pictor.with(blobs: blobs)
            let browser = try await signedInForAPI(app, email: "disk-trouble@example.com")
            try await withRunner(app, handlers: workHandlers, retry: RetryPolicy(baseDelay: 2, maxDelay: 2, jitter: 0)) { _ in
                let created: GenerationView = try await browser.generate(#"{"prompt":"a kite","size":"512x512"}"#).decoded()
                #expect(try await eventually { blobs.failed.value })
                // Within the 2 s backoff.
                #expect(try await eventually(within: 1.5) { try await browser.generation(created.id).status == "queued" })
                let done = try await browser.finished(created.id, within: 30)
                #expect(done.status == "succeeded" && done.images.count == 1, "\(done.status)")
            }
        }
    }

    /// The same after a provider's retryable failure (the one path `run` shares with it).
    @Test func aProvidersRetryableFailureSendsTheGenerationBackToTheQueueUntilItsRetry() async throws {
        let provider = ScriptedProvider(calls: [[.fail(.retryable("HTTP 503"))]])
        try await withPictor { app in
            app.pictor = app.pictor.with(models: scriptedCatalog(provider))
            let browser = try await signedInForAPI(app, email: "provider-trouble@example.com")
            try await withRunner(app, handlers: workHandlers, retry: RetryPolicy(baseDelay: 2, maxDelay: 2, jitter: 0)) { _ in
                let created: GenerationView = try await browser.generate(#"{"model":"scripted","prompt":"a kite","size":"64x64"}"#).decoded()
                #expect(try await eventually { await provider.received().count == 1 })
                // Within the 2 s backoff.
                #expect(try await eventually(within: 1.5) { try await browser.generation(created.id).status == "queued" })
                let done = try await browser.finished(created.id, within: 30)
                #expect(done.status == "succeeded" && done.images.count == 1, "\(done.status)")
            }
            #expect(await provider.received().count == 2)
        }
    }

    /// The real store, except that the first `put(all:)` fails.
    final class FailingOnceBlobs: BlobStore {
        struct DiskTrouble: Error {}
        let base: any BlobStore
        let failed = Locked(false)
        init(_ base: any BlobStore) { self.base = base }

        func put(all blobs: [(key: BlobKey, data: Data)]) async throws {
            if !failed.update({ failed in
                defer { failed = true }
                return failed
            }) {
                throw DiskTrouble()
            }
            try await base.put(all: blobs)
        }
        func put(_ data: Data, at key: BlobKey) async throws { try await base.put(data, at: key) }
        func put(chunks: some AsyncSequence<Data, any Error> & Sendable, at key: BlobKey) async throws { try await base.put(chunks: chunks, at: key) }
        func get(_ key: BlobKey) async throws -> Data { try await base.get(key) }
        func exists(_ key: BlobKey) async throws -> Bool { try await base.exists(key) }
        func delete(_ key: BlobKey) async throws { try await base.delete(key) }
        func entries(prefix: String) async throws -> [StoredBlob] { try await base.entries(prefix: prefix) }
        func checkWritable() async throws { try await base.checkWritable() }
    }

    /// Holds anything; refuses to capture.
    struct CaptureRefused: Credits {
        struct Refused: Error {}
        func hold(_ amount: Int, user: UUID, generation: UUID, now: Date, on db: any Database) async throws {}
        func settle(generation: UUID, user: UUID, held: Int, captured: Int, now: Date, on db: any Database) async throws {
            if captured > 0 { throw Refused() }
        }
    }

    /// After a final transaction that reported an error, an attempt's bytes are removed only
    /// where their rows are not in the database: a transaction may have committed all the
    /// same (the connection lost at COMMIT), and a recorded image must keep its bytes.
    @Test func onlyUnrecordedBytesAreRemovedAfterAFailedFinalTransaction() async throws {
        try await withPictor { app in
            _ = try await signedInForAPI(app, email: "lost-commit@example.com")
            let user = try #require(try await UserModel.query(on: app.db).filter(\.$email == "lost-commit@example.com").first()?.id)
            try await insertGenerations(app, user: user, count: 1, prompt: "a kite at dusk")
            let generation = try #require(try await GenerationModel.query(on: app.db).first()?.id)
            let rows = (0..<2).map { position in
                let row = GenerationImageModel()
                row.id = UUID()
                row.generationID = generation
                row.userID = user
                row.position = position
                row.blobKey = "users/\(user.uuidString.lowercased())/generations/lost-commit.\(position).png"
                row.thumbnailKey = "users/\(user.uuidString.lowercased())/generations/lost-commit.\(position).thumb.webp"
                row.format = "png"
                row.width = 64
                row.height = 64
                row.bytes = 3
                row.thumbnailBytes = 3
                row.sha256 = String(repeating: "0", count: 64)
                row.digitalSourceType = "trainedAlgorithmicMedia"
                row.createdAt = Date()
                return row
            }
            for row in rows {
                try await app.pictor.blobs.put(Data("png".utf8), at: BlobKey(row.blobKey))
                try await app.pictor.blobs.put(Data("web".utf8), at: BlobKey(row.thumbnailKey))
            }
            // The first image's row made it into the database, the second's did not.
            try await GenerationStore.insert(rows[0], on: app.db)

            await GenerationJobHandler.removeUnrecordedBlobs(of: rows, generation: generation, app: app)
            #expect(try await app.pictor.blobs.exists(BlobKey(rows[0].blobKey)), "a recorded image lost its bytes")
            #expect(try await app.pictor.blobs.exists(BlobKey(rows[0].thumbnailKey)))
            #expect(try await app.pictor.blobs.exists(BlobKey(rows[1].blobKey)) == false, "unrecorded bytes were left")
            #expect(try await app.pictor.blobs.exists(BlobKey(rows[1].thumbnailKey)) == false)
        }
    }

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

            #expect(try await GenerationSweeps.removeUnrecordedBlobs(app: app, now: Date()) == 2)
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
                .POST, "/api/v1/reference-images", multipart: try ReferenceImageTests.photoWithComment("x")
            ).decoded()
            let user = try #require(try await ReferenceImageModel.find(kept.id, on: app.db)?.userID).uuidString.lowercased()
            let stray = try BlobKey("users/\(user)/references/\(UUID().uuidString.lowercased()).png")
            try await app.pictor.blobs.put(Data("sealed".utf8), at: stray)
            // And half a file in the local store's temporary folder, as a killed process leaves it.
            let partial = URL(fileURLWithPath: app.pictor.config.blobDirectory).appendingPathComponent(".partial/left-by-a-crash")
            try Data("half".utf8).write(to: partial)

            #expect(try await GenerationSweeps.removeUnrecordedBlobs(app: app, now: Date()) == 0)
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
            let next = try await sqlDatabase(app.db).raw("SELECT run_at FROM jobs WHERE kind = \(bind: Maintenance.jobKind) AND state = 'queued'")
                .first()
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

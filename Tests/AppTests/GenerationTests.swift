import Crypto
import Domain
import Fluent
import Foundation
import Imaging
import Persistence
import Providers
import SQLKit
import Storage
import TestSupport
import Testing
import Vapor
import VaporTesting

@testable import App

@Suite struct GenerationTests {
    @Test func theBuiltInEngineMakesMarkedPrivateImages() async throws {
        try await withPictor { app in
            let credits = RecordingCredits()
            app.pictor = app.pictor.with(credits: credits)
            let browser = try await signedInForAPI(app, email: "maker@example.com")
            try await withRunner(app, handlers: workHandlers) { _ in
                let created = try await browser.generate(#"{"prompt":"a red fox in snowy mountains at dawn","size":"512x512","count":2,"seed":42}"#)
                #expect(created.status == .created)
                let submitted: GenerationView = try created.decoded()
                #expect(created.location == "/api/v1/generations/\(submitted.id.uuidString.lowercased())")
                #expect(submitted.creditsHeld == 2 && submitted.creditsCharged == 0)

                let done = try await browser.finished(submitted.id)
                #expect(done.status == "succeeded")
                #expect(done.prompt == "a red fox in snowy mountains at dawn" && done.seed == 42 && done.progress == 1)
                #expect(done.creditsCharged == 2)
                #expect(credits.settlements(of: done.id) == [.init(generation: done.id, held: 2, captured: 2)])
                try #require(done.images.count == 2)

                let image = try await browser.api(.GET, done.images[0].url)
                #expect(image.status == .ok)
                #expect(image.headers.contentType == HTTPMediaType(type: "image", subType: "png"))
                // Kept privately but checked on every use: after sign-out a shared browser has nothing to show unasked.
                #expect(image.headers.first(name: .cacheControl) == "private, no-cache")
                let bytes = Data(image.body.readableBytesView)
                #expect(Data(SHA256.hash(data: bytes)).hexString == done.images[0].sha256)
                #expect(bytes.count == done.images[0].bytes)
                let header = try Image.header(of: bytes, limits: app.pictor.config.imageLimits)
                #expect(header.width == 512 && header.height == 512)
                #expect(header.xmp?.text.contains("trainedAlgorithmicMedia") == true)
                #expect(!header.metadataFields.contains { $0.hasPrefix("exif") })
                #expect(done.images[0].digitalSourceType == "trainedAlgorithmicMedia")

                let etag = try #require(image.headers.first(name: .eTag))
                let again = try await browser.api(.GET, done.images[0].url, headers: ["If-None-Match": etag])
                #expect(again.status == .notModified && again.body.readableBytes == 0)

                let thumbnail = try await browser.api(.GET, done.images[0].thumbnailUrl)
                #expect(thumbnail.status == .ok && thumbnail.headers.contentType == HTTPMediaType(type: "image", subType: "webp"))
                let thumbHeader = try Image.header(of: Data(thumbnail.body.readableBytesView), limits: app.pictor.config.imageLimits)
                #expect(max(thumbHeader.width, thumbHeader.height) == 256)

                // At rest, the image and the prompt are sealed with the owner's key.
                let row = try #require(try await GenerationImageModel.find(done.images[0].id, on: app.db))
                let stored = try await app.pictor.blobs.get(BlobKey(row.blobKey))
                #expect(stored != bytes && !stored.starts(with: [0x89, 0x50, 0x4E, 0x47]))
                let generation = try #require(try await GenerationModel.find(done.id, on: app.db))
                #expect(
                    !generation.promptSealed.contains("fox")
                        && !(Data(base64Encoded: generation.promptSealed).map { String(decoding: $0, as: UTF8.self).contains("fox") } ?? true))
            }
        }
    }

    @Test func sameSeedSameImages() async throws {
        try await withPictor { app in
            let browser = try await signedInForAPI(app, email: "seed@example.com")
            try await withRunner(app, handlers: workHandlers) { _ in
                var hashes: [String] = []
                for _ in 0..<2 {
                    let created: GenerationView = try await browser.generate(#"{"prompt":"blue lake","size":"512x512","seed":7}"#).decoded()
                    hashes.append(try await browser.finished(created.id).images.first?.sha256 ?? "")
                }
                #expect(hashes[0] == hashes[1] && !hashes[0].isEmpty)
            }
        }
    }

    enum Failure: String, CaseIterable {
        case permanent, filtered, retryableEveryTime, hang, unreadableOutput
    }

    @Test(arguments: Failure.allCases)
    func unhappyEndsCarryAReasonAndChargeNothing(_ failure: Failure) async throws {
        let steps: [ScriptedProvider.Step]
        let expected: (status: String, reason: String)
        switch failure {
        case .permanent: (steps, expected) = ([.fail(.permanent("unsupported style"))], ("failed", "could not run this request"))
        case .filtered: (steps, expected) = ([.progress(0.5), .fail(.blocked("violence"))], ("blocked", "safety filter"))
        case .retryableEveryTime: (steps, expected) = ([.fail(.retryable("HTTP 503"))], ("failed", "failed or did not answer"))
        case .hang: (steps, expected) = ([.hang], ("failed", "failed or did not answer"))
        case .unreadableOutput: (steps, expected) = ([.deliverBytes(Data("not an image".utf8))], ("failed", "could not be read"))
        }
        let provider = ScriptedProvider(otherwise: steps)
        try await withPictor { app in
            let credits = RecordingCredits()
            app.pictor = app.pictor.with(models: scriptedCatalog(provider, timeout: .seconds(1)), credits: credits)
            let browser = try await signedInForAPI(app, email: "unlucky@example.com")
            try await withRunner(app, handlers: workHandlers) { _ in
                let created: GenerationView = try await browser.generate(#"{"model":"scripted","prompt":"a cat","size":"64x64","count":2}"#).decoded()
                let done = try await browser.finished(created.id)
                #expect(done.status == expected.status)
                #expect(done.reason?.contains(expected.reason) == true, "\(done.reason ?? "no reason")")
                #expect(done.reason?.contains("not charged") == true)
                #expect(done.creditsCharged == 0 && done.images.isEmpty)
                #expect(credits.settlements(of: done.id) == [.init(generation: done.id, held: 4, captured: 0)])
                #expect(try await GenerationImageModel.query(on: app.db).count() == 0)
                #expect(try await app.pictor.blobs.list(prefix: "users/").isEmpty)
                let calls = await provider.received().count
                #expect(calls == (failure == .retryableEveryTime || failure == .hang ? 3 : 1))
            }
        }
    }

    /// A provider's own account of a failure can name its server's folders and addresses: the
    /// person gets a plain sentence, the operator the provider's words without them, on /admin.
    @Test func aProvidersOwnWordsGoToTheOperatorNotThePerson() async throws {
        let words = "Error while saving: full_output_folder: /home/gpu/ComfyUI/output on 10.0.0.5:8188"
        let provider = ScriptedProvider(otherwise: [.fail(.permanent(words))])
        try await withPictor { app in
            app.pictor = app.pictor.with(models: scriptedCatalog(provider, timeout: .seconds(5)), providerHealth: ProviderHealth())
            let browser = try await signedInForAPI(app, email: "told-plainly@example.com")
            try await withRunner(app, handlers: workHandlers) { _ in
                let created: GenerationView = try await browser.generate(#"{"model":"scripted","prompt":"a cat","size":"64x64"}"#).decoded()
                let done = try await browser.finished(created.id)
                #expect(done.reason == "The image model could not run this request. You were not charged.")
                let page = try await browser.get("/generations/\(created.id.uuidString.lowercased())")
                #expect(!page.text.contains("/home/gpu") && !page.text.contains("10.0.0.5"))
            }
            let admin = try await signedInForAPI(app, email: "ops@example.com")
            try await sqlDatabase(app.db).raw("UPDATE users SET role = 'admin' WHERE email = 'ops@example.com'").run()
            let console = try await admin.get("/admin")
            #expect(console.text.contains("Error while saving: full_output_folder: &lt;path&gt; on &lt;address&gt;"), "\(console.text)")
            #expect(!console.text.contains("/home/gpu"))
        }
    }

    @Test func theTimeoutHoldsEvenWhenTheProviderIgnoresCancellation() async throws {
        let provider = ScriptedProvider(otherwise: [.deafWait(.seconds(30)), .deliver(side: 64)])
        try await withPictor { app in
            app.pictor = app.pictor.with(models: scriptedCatalog(provider, timeout: .seconds(1), maxAttempts: 1))
            let browser = try await signedInForAPI(app, email: "deaf@example.com")
            try await withRunner(app, handlers: workHandlers) { _ in
                let created: GenerationView = try await browser.generate(#"{"model":"scripted","prompt":"a cat","size":"64x64"}"#).decoded()
                // Ended by the timeout, long before the provider's 30 seconds are up.
                let done = try await browser.finished(created.id, within: 15)
                #expect(done.status == "failed" && done.reason?.contains("did not answer") == true, "\(done.status)")
            }
        }
    }

    @Test func aReferenceDeletedBeforeTheRunFailsTheGenerationFree() async throws {
        try await withPictor { app in
            let credits = RecordingCredits()
            app.pictor = app.pictor.with(models: scriptedCatalog(ScriptedProvider()), credits: credits)
            let browser = try await signedInForAPI(app, email: "fickle@example.com")
            let reference: ReferenceImageTests.Reference = try await browser.apiBytes(
                .POST, "/api/v1/reference-images", multipart: try ReferenceImageTests.photoWithComment("x")
            ).decoded()
            let created: GenerationView = try await browser.generate(
                #"{"model":"scripted","prompt":"like this","size":"64x64","referenceImageIds":["\#(reference.id)"]}"#
            ).decoded()
            #expect(try await browser.api(.DELETE, "/api/v1/reference-images/\(reference.id)").status == .noContent)
            try await withRunner(app, handlers: workHandlers) { _ in
                let done = try await browser.finished(created.id)
                #expect(done.status == "failed" && done.reason?.contains("reference image was deleted") == true)
                #expect(credits.settlements(of: done.id).map(\.captured) == [0])
            }
        }
    }

    /// The upload limit (UPLOAD_MAX_BYTES) is for uploads: a model's output larger than it is
    /// stored, not refused after the provider was paid. The pixel limit holds for both.
    @Test func anOutputLargerThanTheUploadLimitIsKept() async throws {
        let side = 256
        let noise = (0..<(side * side * 3)).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) }
        let png = try noise.withUnsafeBytes { try Image(pixels: $0, width: side, height: side, bands: 3).encode(.png()) }
        let provider = ScriptedProvider(calls: [[.deliverBytes(png)], [.deliverBytes(TestPNG.bomb(width: 20_000, height: 20_000))]])
        try await withPictor({ $0.imageLimits = ImageLimits(maxBytes: 1024, maxPixels: 40_000_000) }) { app in
            #expect(png.count > 1024)
            app.pictor = app.pictor.with(models: scriptedCatalog(provider, maxAttempts: 1))
            let browser = try await signedInForAPI(app, email: "large@example.com")
            try await withRunner(app, handlers: workHandlers) { _ in
                let large: GenerationView = try await browser.generate(#"{"model":"scripted","prompt":"a wide field","size":"64x64"}"#).decoded()
                let kept = try await browser.finished(large.id)
                #expect(kept.status == "succeeded" && kept.images.first?.width == side, "\(kept.status) \(kept.reason ?? "")")
                let bomb: GenerationView = try await browser.generate(#"{"model":"scripted","prompt":"a bomb","size":"64x64"}"#).decoded()
                let refused = try await browser.finished(bomb.id)
                #expect(refused.status == "failed" && refused.creditsCharged == 0, "\(refused.status)")
            }
        }
    }

    /// What a provider sends is re-encoded: a comment or location it carried is gone, the
    /// marker is written, in the image and its thumbnail.
    @Test func aProviderImageLosesItsMetadataAndGainsTheMarker() async throws {
        let photo = try ReferenceImageTests.photoWithComment("taken at 52.52N 13.40E by Jane Roe")
        let provider = ScriptedProvider(otherwise: [.deliverBytes(photo)])
        try await withPictor { app in
            app.pictor = app.pictor.with(models: scriptedCatalog(provider))
            let browser = try await signedInForAPI(app, email: "stripped@example.com")
            try await withRunner(app, handlers: workHandlers) { _ in
                let created: GenerationView = try await browser.generate(#"{"model":"scripted","prompt":"a street","size":"64x64"}"#).decoded()
                let done = try await browser.finished(created.id)
                let image = try #require(done.images.first, "\(done.status) \(done.reason ?? "")")
                func has(_ bytes: Data, _ text: String) -> Bool { bytes.range(of: Data(text.utf8)) != nil }
                #expect(has(photo, "Jane Roe"))
                for path in [image.url, image.thumbnailUrl] {
                    let bytes = Data(try await browser.api(.GET, path).body.readableBytesView)
                    #expect(!has(bytes, "Jane Roe") && !has(bytes, "52.52N"), "\(path)")
                    let header = try Image.header(of: bytes, limits: app.pictor.config.imageLimits)
                    #expect(header.xmp?.text.contains("trainedAlgorithmicMedia") == true, "\(path)")
                }
            }
        }
    }

    @Test func aRetryableErrorIsRetriedAndThenCharged() async throws {
        let provider = ScriptedProvider(calls: [[.fail(.retryable("HTTP 429"))]], otherwise: [.progress(0.5), .deliver(side: 64)])
        try await withPictor { app in
            let credits = RecordingCredits()
            app.pictor = app.pictor.with(models: scriptedCatalog(provider), credits: credits)
            let browser = try await signedInForAPI(app, email: "retry@example.com")
            try await withRunner(app, handlers: workHandlers) { _ in
                let created: GenerationView = try await browser.generate(#"{"model":"scripted","prompt":"a cat","size":"64x64"}"#).decoded()
                let done = try await browser.finished(created.id)
                #expect(done.status == "succeeded" && done.images.count == 1 && done.creditsCharged == 2)
                #expect(credits.settlements(of: done.id).count == 1)
                #expect(await provider.received().count == 2)
            }
        }
    }

    @Test func notEnoughCreditsIsRefusedAndNothingIsQueued() async throws {
        try await withPictor { app in
            app.pictor = app.pictor.with(credits: RecordingCredits(balance: 1))
            let browser = try await signedInForAPI(app, email: "poor@example.com")
            let refused = try await browser.generate(#"{"prompt":"gold","size":"512x512","count":3}"#)
            #expect(refused.status == .paymentRequired)
            #expect(try refused.decoded(ProblemView.self).detail?.contains("You were not charged") == true)
            #expect(try await GenerationModel.query(on: app.db).count() == 0)
            #expect(try await jobCount(kind: GenerationService.jobKind, on: app.db) == 0)
        }
    }

    @Test func fiftyParallelSubmissionsWithOneKeyMakeOneGeneration() async throws {
        try await withPictor { app in
            let browser = try await signedInForAPI(app, email: "eager@example.com")
            let body = #"{"prompt":"one lighthouse","size":"512x512"}"#
            let responses = try await withThrowingTaskGroup(of: (HTTPStatus, UUID?).self) { group in
                for _ in 0..<50 {
                    group.addTask {
                        let response = try await browser.generate(body, idempotencyKey: "order-7f3a")
                        return (response.status, try? response.decoded(GenerationView.self).id)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(responses.allSatisfy { $0.0 == .created || $0.0 == .ok }, "\(responses.map(\.0.code))")
            #expect(responses.filter { $0.0 == .created }.count == 1)
            #expect(Set(responses.compactMap(\.1)).count == 1)
            #expect(try await GenerationModel.query(on: app.db).count() == 1)
            #expect(try await jobCount(kind: GenerationService.jobKind, on: app.db) == 1)

            let replay = try await browser.generate(body, idempotencyKey: "order-7f3a")
            #expect(replay.status == .ok && replay.headers.first(name: "Idempotent-Replayed") == "true")
            let reused = try await browser.generate(#"{"prompt":"two lighthouses","size":"512x512"}"#, idempotencyKey: "order-7f3a")
            #expect(reused.status == .unprocessableEntity)
            #expect(try reused.decoded(ProblemView.self).detail?.contains("different request") == true)
        }
    }

    @Test func badInputIsReportedPerField() async throws {
        try await withPictor { app in
            let browser = try await signedInForAPI(app, email: "typo@example.com")
            let cases: [(String, String)] = [
                (#"{"prompt":"  "}"#, "prompt"),
                (#"{"prompt":"\#(String(repeating: "a", count: 1001))"}"#, "prompt"),
                (#"{"prompt":"cat","model":"dall-e-9"}"#, "model"),
                (#"{"prompt":"cat","size":"500x500"}"#, "size"),
                (#"{"prompt":"cat","count":9}"#, "count"),
                (#"{"prompt":"cat","seed":-1}"#, "seed"),
                (#"{"prompt":"cat","seed":"abc"}"#, "seed"),
                (#"{"prompt":"cat","seed":9007199254740992}"#, "seed"),
                (#"{"prompt":"cat","style":"baroque"}"#, "style"),
                (#"{"prompt":"cat","referenceImageIds":["\#(UUID())"]}"#, "referenceImageIds"),
            ]
            for (body, field) in cases {
                let response = try await browser.generate(body)
                #expect(response.status == .badRequest, "\(body)")
                #expect(response.headers.contentType?.description.hasPrefix("application/problem+json") == true)
                let problem: ProblemView = try response.decoded()
                #expect(problem.errors?.contains { $0.field == field && !$0.message.isEmpty } == true, "\(body): \(problem.errors ?? [])")
            }
            let badKey = try await browser.generate(#"{"prompt":"cat"}"#, idempotencyKey: "has space")
            #expect(badKey.status == .badRequest)
            #expect(try await GenerationModel.query(on: app.db).count() == 0)
        }
    }

    /// A field of the wrong type is named, in words, like any other bad field, not reported as
    /// the decoder's own text about Swift types.
    @Test func wronglyTypedFieldsAreNamedInWords() async throws {
        try await withPictor { app in
            let browser = try await signedInForAPI(app, email: "types@example.com")
            let cases: [(body: String, field: String, message: String)] = [
                (#"{"prompt":"cat","count":"2"}"#, "count", "must be a whole number"),
                (#"{"prompt":"cat","width":"512","height":512}"#, "width", "must be a whole number"),
                (#"{"prompt":5}"#, "prompt", "must be text"),
                (#"{"prompt":"cat","referenceImageIds":"abc"}"#, "referenceImageIds", "must be a list"),
                (#"{"prompt":"cat","referenceImageIds":["not-an-id"]}"#, "referenceImageIds[0]", "has a value that could not be read"),
            ]
            for (body, field, message) in cases {
                let response = try await browser.generate(body)
                #expect(response.status == .badRequest, "\(body)")
                #expect(response.headers.contentType?.description.hasPrefix("application/problem+json") == true)
                let problem: ProblemView = try response.decoded()
                #expect(problem.errors?.map { "\($0.field): \($0.message)" } == ["\(field): \(message)"], "\(body)")
            }
            let notJSON = try await browser.generate("prompt=cat")
            #expect(notJSON.status == .badRequest)
            let problem: ProblemView = try notJSON.decoded()
            #expect(problem.errors == nil && problem.detail?.hasPrefix("The request body could not be read") == true, "\(problem.detail ?? "")")
            #expect(try await GenerationModel.query(on: app.db).count() == 0)
        }
    }

    @Test func nobodyReadsListsOrCancelsAnothersGeneration() async throws {
        try await withPictor { app in
            let owner = try await signedInForAPI(app, email: "owner@example.com")
            let other = try await signedInForAPI(app, email: "other@example.com")
            let created: GenerationView = try await owner.generate(#"{"prompt":"private garden","size":"512x512"}"#).decoded()
            try await withRunner(app, handlers: workHandlers) { _ in
                _ = try await owner.finished(created.id)
            }
            let done = try await owner.generation(created.id)
            let image = try #require(done.images.first)
            for path in ["/api/v1/generations/\(created.id)", image.url, image.thumbnailUrl, "/generations/\(created.id)/events"] {
                #expect(try await other.api(.GET, path).status == .notFound, "\(path)")
            }
            // Not even a 304 to someone holding the owner's ETag (it would confirm what they hold).
            for path in [image.url, image.thumbnailUrl] {
                let etag = try #require(try await owner.api(.GET, path).headers.first(name: .eTag))
                #expect(try await owner.api(.GET, path, headers: ["If-None-Match": etag]).status == .notModified, "\(path)")
                #expect(try await other.api(.GET, path, headers: ["If-None-Match": etag]).status == .notFound, "\(path)")
            }
            #expect(try await other.api(.POST, "/api/v1/generations/\(created.id)/cancel").status == .notFound)
            let page: GenerationPageView = try await other.api(.GET, "/api/v1/generations").decoded()
            #expect(page.data.isEmpty)
            // Signed out: no access at all.
            let visitor = Browser(app)
            #expect(try await visitor.api(.GET, image.url).status == .unauthorized)
            // An Idempotency-Key is the owner's own: the same key from someone else makes theirs.
            let mine: GenerationView = try await owner.generate(#"{"prompt":"a key","size":"512x512"}"#, idempotencyKey: "shared-key-1").decoded()
            let theirs = try await other.generate(#"{"prompt":"a key","size":"512x512"}"#, idempotencyKey: "shared-key-1")
            #expect(theirs.status == .created)
            #expect(try theirs.decoded(GenerationView.self).id != mine.id)
        }
    }

    /// The owner's cancel racing the worker's final transaction, many times over: each
    /// generation ends one way only, settled once, with images and a charge only if it
    /// succeeded, and no stored bytes left for one that was cancelled.
    @Test func aCancelRacingTheFinishEndsOneWayAndSettlesOnce() async throws {
        let calls: [[ScriptedProvider.Step]] = (0..<24).map { [.wait(.milliseconds(20 + ($0 % 5) * 10)), .deliver(side: 64)] }
        let provider = ScriptedProvider(calls: calls, otherwise: [.deliver(side: 64)])
        try await withPictor({ $0.maxActiveGenerationsPerUser = 24 }) { app in
            let credits = RecordingCredits()
            app.pictor = app.pictor.with(models: scriptedCatalog(provider), credits: credits)
            let browser = try await signedInForAPI(app, email: "racer@example.com")
            try await withRunner(app, handlers: workHandlers) { _ in
                try await withThrowingTaskGroup(of: UUID.self) { group in
                    for n in 0..<24 {
                        group.addTask {
                            let created: GenerationView = try await browser.generate(#"{"model":"scripted","prompt":"race \#(n)","size":"64x64"}"#)
                                .decoded()
                            // Once it runs, at moments around its provider's answer and final transaction.
                            _ = try await eventually { try await GenerationModel.find(created.id, on: app.db)?.state != .queued }
                            try await Task.sleep(for: .milliseconds((n % 8) * 8))
                            let answer = try await browser.api(.POST, "/api/v1/generations/\(created.id)/cancel")
                            #expect(answer.status == .ok || answer.status == .conflict, "\(answer.status)")
                            return created.id
                        }
                    }
                    for try await id in group {
                        let done = try await browser.finished(id)
                        let settled = credits.settlements(of: id)
                        switch done.status {
                        case "succeeded":
                            #expect(
                                done.images.count == 1 && done.creditsCharged == done.creditsHeld && settled.map(\.captured) == [done.creditsHeld])
                        case "cancelled":
                            #expect(done.images.isEmpty && done.creditsCharged == 0 && settled.map(\.captured) == [0])
                        default:
                            Issue.record("ended \(done.status): \(done.reason ?? "")")
                        }
                    }
                }
                let succeeded = try await GenerationModel.query(on: app.db).filter(\.$state == .succeeded).count()
                #expect(try await GenerationImageModel.query(on: app.db).count() == succeeded)
                // A cancelled attempt removes what it stored once its job has ended.
                #expect(try await eventually { try await jobCount(kind: GenerationService.jobKind, state: "succeeded", on: app.db) == 24 })
                #expect(try await app.pictor.blobs.list(prefix: "users/").count == 2 * succeeded)
            }
        }
    }

    @Test func theOwnerCancelsQueuedAndRunningGenerations() async throws {
        let provider = ScriptedProvider(otherwise: [.progress(0.2), .hang])
        try await withPictor { app in
            let credits = RecordingCredits()
            app.pictor = app.pictor.with(models: scriptedCatalog(provider, timeout: .seconds(30)), credits: credits)
            let browser = try await signedInForAPI(app, email: "changed-mind@example.com")
            let queued: GenerationView = try await browser.generate(#"{"model":"scripted","prompt":"a boat","size":"64x64"}"#).decoded()
            let cancelled: GenerationView = try await browser.api(.POST, "/api/v1/generations/\(queued.id)/cancel").decoded()
            #expect(cancelled.status == "cancelled" && cancelled.reason?.contains("not charged") == true)
            #expect(try await browser.api(.POST, "/api/v1/generations/\(queued.id)/cancel").status == .conflict)

            try await withRunner(app, handlers: workHandlers) { _ in
                let running: GenerationView = try await browser.generate(#"{"model":"scripted","prompt":"a ship","size":"64x64"}"#).decoded()
                #expect(try await eventually { try await browser.generation(running.id).progress == 0.2 })
                let stopped: GenerationView = try await browser.api(.POST, "/api/v1/generations/\(running.id)/cancel").decoded()
                #expect(stopped.status == "cancelled")
                // The worker notices, stops the provider call and finishes the job without images.
                let job = try #require(try await GenerationModel.find(running.id, on: app.db)?.jobID)
                #expect(try await eventually { try await JobQueue.snapshot(job, on: app.db)?.state == .succeeded })
                #expect(try await browser.generation(running.id).status == "cancelled")
            }
            #expect(credits.settlements.value.map(\.captured) == [0, 0])
            #expect(try await GenerationImageModel.query(on: app.db).count() == 0)
        }
    }

    @Test func listsPageNewestFirstWithACursor() async throws {
        try await withPictor { app in
            let browser = try await signedInForAPI(app, email: "pages@example.com")
            var made: [UUID] = []
            for n in 0..<5 {
                made.append(try await browser.generate(#"{"prompt":"picture \#(n)","size":"512x512"}"#).decoded(GenerationView.self).id)
            }
            var seen: [UUID] = []
            var cursor: String?
            repeat {
                let page: GenerationPageView = try await browser.api(.GET, "/api/v1/generations?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""))
                    .decoded()
                #expect(page.data.count <= 2)
                seen += page.data.map(\.id)
                cursor = page.nextCursor
            } while cursor != nil
            #expect(seen == made.reversed())
            #expect(try await browser.api(.GET, "/api/v1/generations?cursor=nonsense").status == .badRequest)

            // Made in the same instant (a batch, a coarse clock): every one still comes once.
            try await sqlDatabase(app.db).raw("UPDATE generations SET created_at = \(bind: Date(timeIntervalSince1970: 1_800_000_000))").run()
            var tied: [UUID] = []
            cursor = nil
            repeat {
                let page: GenerationPageView = try await browser.api(.GET, "/api/v1/generations?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""))
                    .decoded()
                tied += page.data.map(\.id)
                cursor = page.nextCursor
            } while cursor != nil && tied.count <= made.count
            #expect(tied.count == made.count && Set(tied) == Set(made), "\(tied)")
        }
    }

    @Test func eventsStreamProgressUntilTheEnd() async throws {
        let provider = ScriptedProvider(otherwise: [.wait(.milliseconds(300)), .progress(0.5), .wait(.milliseconds(1500)), .deliver(side: 64)])
        try await withPictor { app in
            app.pictor = app.pictor.with(models: scriptedCatalog(provider))
            let browser = try await signedInForAPI(app, email: "watcher@example.com")
            let created: GenerationView = try await browser.generate(#"{"model":"scripted","prompt":"a kite","size":"64x64"}"#).decoded()
            // The stream opens while the generation waits; the workers start after.
            let streaming = try await browser.openEvents(created.id, followedBy: app)
            try await withRunner(app, handlers: workHandlers) { _ in
                let stream = try await streaming.value
                #expect(stream.status == .ok)
                #expect(stream.headers.contentType?.description.hasPrefix("text/event-stream") == true)
                let events = serverSentEvents(stream)
                let names = events.map { $0.prefix { $0 != "\n" }.dropFirst("event: ".count) }
                #expect(names.first == "queued", "\(names)")
                #expect(events.first?.contains(#""queuePosition":0"#) == true, "\(events.first ?? "")")
                #expect(names.last == "succeeded", "\(names)")
                #expect(events.contains { $0.hasPrefix("event: running") && $0.contains(#""progress":0.5"#) }, "\(events)")
                #expect(events.last?.contains(#""thumbnailUrl":"/images/"#) == true)
            }
        }
    }

    /// At shutdown the streams end at once, after the current state (their clients reconnect
    /// elsewhere), rather than holding the server's shutdown until its timeout.
    @Test func eventStreamsEndWhenTheProcessShutsDown() async throws {
        try await withPictor { app in
            let browser = try await signedInForAPI(app, email: "leaving@example.com")
            let created: GenerationView = try await browser.generate(#"{"prompt":"a quiet lake","size":"512x512"}"#).decoded()
            let streaming = try await browser.openEvents(created.id, followedBy: app)
            app.pictor.generationEvents.closeAll()
            // Nothing else would end it: the generation stays queued.
            let ended = try await eventually(within: 10) { app.pictor.generationEvents.followers(of: created.id) == 0 }
            #expect(ended, "the stream is still open after the close")
            // If it did not end, cancelling does (rather than holding the test for 10 minutes).
            if !ended { _ = try await browser.api(.POST, "/api/v1/generations/\(created.id)/cancel") }
            let stream = try await streaming.value
            #expect(stream.body.string.hasPrefix("event: queued"), "the current state first: \(stream.body.string.prefix(100))")
        }
    }

    /// A stream ends with the failure and its reason, as it ends with the images on success.
    @Test func eventsEndWithTheFailureAndItsReason() async throws {
        let provider = ScriptedProvider(otherwise: [.wait(.milliseconds(200)), .fail(.permanent("unsupported style"))])
        try await withPictor { app in
            app.pictor = app.pictor.with(models: scriptedCatalog(provider))
            let browser = try await signedInForAPI(app, email: "unlucky-watcher@example.com")
            let created: GenerationView = try await browser.generate(#"{"model":"scripted","prompt":"a kite","size":"64x64"}"#).decoded()
            let streaming = try await browser.openEvents(created.id, followedBy: app)
            try await withRunner(app, handlers: workHandlers) { _ in
                let stream = try await streaming.value
                let events = serverSentEvents(stream)
                let last = try #require(events.last)
                #expect(last.hasPrefix("event: failed\n"), "\(events)")
                #expect(last.contains("could not run this request") && last.contains("not charged"), "\(last)")
            }
        }
    }

    @Test func apiKeysNeedTheGenerationScopes() async throws {
        try await withPictor { app in
            let browser = try await signedInForAPI(app, email: "scripter@example.com")
            let user = try #require(try await UserModel.query(on: app.db).first())
            let reader = try await APIKeys.create(name: "reader", scopes: [.generationsRead], for: user.id!, now: Date(), on: app.db)
            let writer = try await APIKeys.create(
                name: "writer", scopes: [.generationsRead, .generationsWrite], for: user.id!, now: Date(), on: app.db)
            func call(_ key: String, _ method: HTTPMethod, _ path: String, _ body: String? = nil) async throws -> TestingHTTPResponse {
                var headers: HTTPHeaders = ["Authorization": "Bearer \(key)", "Accept": "application/json"]
                if body != nil { headers.contentType = .json }
                return try await app.testing().sendRequest(method, path, headers: headers, body: body.map { ByteBuffer(string: $0) })
            }
            #expect(try await call(reader.key, .POST, "/api/v1/generations", #"{"prompt":"x"}"#).status == .forbidden)
            let created = try await call(writer.key, .POST, "/api/v1/generations", #"{"prompt":"x","size":"512x512"}"#)
            #expect(created.status == .created)
            let id = try created.decoded(GenerationView.self).id
            #expect(try await call(reader.key, .GET, "/api/v1/generations/\(id)").status == .ok)
            _ = browser
        }
    }

    @Test func erasingTheContentKeyMakesContentUnreadable() async throws {
        try await withPictor { app in
            let browser = try await signedInForAPI(app, email: "forget-me@example.com")
            try await withRunner(app, handlers: workHandlers) { _ in
                let created: GenerationView = try await browser.generate(#"{"prompt":"my secret place","size":"512x512"}"#).decoded()
                let done = try await browser.finished(created.id)
                #expect(done.prompt == "my secret place")
                // What erasure does: delete the key row, and drop this process's cached copy.
                try await ContentKeyModel.query(on: app.db).delete()
                let user = try #require(try await UserModel.query(on: app.db).first()?.id)
                app.pictor.contentKeys.forget(user)
                let after = try await browser.generation(created.id)
                #expect(after.prompt == "")
                #expect(try await browser.api(.GET, done.images[0].url).status == .notFound)
            }
        }
    }
}

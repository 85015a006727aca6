import Domain
import Fluent
import Foundation
import Imaging
import Persistence
import Providers
import SQLKit
import Storage
import Testing
import Vapor
import VaporTesting

@testable import App

/// What the owner does from a generation's page: favourite, delete and undo, variation,
/// use again, downloads (recorded), and share links.
@Suite struct GalleryActionsTests {
    static let instant = ScriptedProvider(otherwise: [.deliver(side: 64)])

    @Test func deleteHidesAtOnceUndoBringsBackAndTheSweepRemovesForGood() async throws {
        try await withPictor { app in
            let clock = MovableClock()
            app.pictor = app.pictor.with(models: scriptedCatalog(Self.instant), clock: clock)
            let browser = try await signedInForAPI(app, email: "deleter@example.com")
            let made = try await finishedGenerations(app, browser, prompts: ["a boat to delete", "a boat to keep"], count: 2)
            let gone = made[0]
            let page = "/generations/\(gone.id.uuidString.lowercased())"
            try await browser.get(page)
            let deleted = try await browser.post(page + "/delete")
            #expect(deleted.status == .seeOther && deleted.location == "/gallery?deleted=\(gone.id.uuidString.lowercased())")
            let gallery = try await browser.get(deleted.location!)
            #expect(gallery.text.contains("You can undo this for 5 minutes") && gallery.text.contains(page + "/restore"))
            #expect(!gallery.text.contains("a boat to delete") && gallery.text.contains("a boat to keep"))
            // Hidden everywhere: its page, the API, its images.
            #expect(try await browser.get(page).status == .notFound)
            #expect(try await browser.api(.GET, "/api/v1/generations/\(gone.id)").status == .notFound)
            #expect(try await browser.api(.GET, gone.images[0].url).status == .notFound)
            #expect(try await browser.api(.GET, gone.images[0].thumbnailUrl).status == .notFound)

            // Undo.
            let restored = try await browser.post(page + "/restore")
            #expect(restored.status == .seeOther && restored.location == page)
            #expect(try await browser.get(page).status == .ok)
            #expect(try await browser.api(.GET, gone.images[0].url).status == .ok)

            // Delete again through the API; the sweep before the undo time is up keeps it.
            #expect(try await browser.api(.DELETE, "/api/v1/generations/\(gone.id)").status == .noContent)
            // A second before the undo time is up, the sweep keeps it (and undo would work).
            clock.advance(by: GenerationActions.undoWindow - 1)
            #expect(try await GallerySweeps.purgeDeleted(app: app, now: clock.now()) == 0)
            // Past the undo time (the clock moved, no row edited): undo is refused in words, and
            // the sweep removes rows and files.
            clock.advance(by: 2)
            let late = try await browser.post(page + "/restore")
            #expect(late.status == .conflict && late.text.contains("can be undone for 5 minutes"))
            let blobsBefore = try await app.pictor.blobs.list(prefix: "users/").count
            #expect(try await GallerySweeps.purgeDeleted(app: app, now: clock.now()) == 1)
            #expect(try await GenerationModel.find(gone.id, on: app.db) == nil)
            #expect(try await GenerationImageModel.query(on: app.db).filter(\.$generationID == gone.id).count() == 0)
            #expect(try await app.pictor.blobs.list(prefix: "users/").count == blobsBefore - 4)
            #expect(try await browser.api(.GET, "/api/v1/generations/\(made[1].id)").status == .ok)

            // Nobody else can delete or restore it.
            let stranger = try await signedInForAPI(app, email: "not-a-deleter@example.com")
            #expect(try await stranger.api(.DELETE, "/api/v1/generations/\(made[1].id)").status == .notFound)
            try await stranger.get("/gallery")
            #expect(try await stranger.post("/generations/\(made[1].id.uuidString.lowercased())/delete").status == .notFound)
        }
    }

    @Test func anIdempotentRetryOfADeletedGenerationIsAConflictNotAReplay() async throws {
        try await withPictor { app in
            let browser = try await signedInForAPI(app, email: "retrier@example.com")
            let body = #"{"prompt":"once","size":"512x512"}"#
            let first: GenerationView = try await browser.generate(body, idempotencyKey: "retry-1").decoded()
            #expect(try await browser.api(.DELETE, "/api/v1/generations/\(first.id)").status == .noContent)
            let again = try await browser.generate(body, idempotencyKey: "retry-1")
            #expect(again.status == .conflict && again.body.string.contains("has been deleted"))
        }
    }

    @Test func deletingAGenerationStillQueuedCancelsItFree() async throws {
        try await withPictor { app in
            let credits = RecordingCredits()
            app.pictor = app.pictor.with(credits: credits)
            let browser = try await signedInForAPI(app, email: "impatient@example.com")
            let queued: GenerationView = try await browser.generate(#"{"prompt":"never mind","size":"512x512"}"#).decoded()
            #expect(try await browser.api(.DELETE, "/api/v1/generations/\(queued.id)").status == .noContent)
            let row = try #require(try await GenerationModel.find(queued.id, on: app.db))
            #expect(row.state == .cancelled && row.deletedAt != nil)
            #expect(credits.settlements(of: queued.id).map(\.captured) == [0])
        }
    }

    /// A deletion whose cancellation fails is refused, rather than hiding a generation that
    /// could still run and be charged for; and the purge never removes one that has not ended
    /// (its credit hold would never be settled).
    @Test func aGenerationThatCouldNotBeCancelledIsNeitherDeletedNorPurged() async throws {
        try await withPictor { app in
            let credits = RecordingCredits()
            app.pictor = app.pictor.with(credits: credits)
            let browser = try await signedInForAPI(app, email: "unlucky@example.com")
            let queued: GenerationView = try await browser.generate(#"{"prompt":"never mind","size":"512x512"}"#).decoded()
            credits.refusals.update { $0 = 1 }
            #expect(try await browser.api(.DELETE, "/api/v1/generations/\(queued.id)").status == .internalServerError)
            var row = try #require(try await GenerationModel.find(queued.id, on: app.db))
            #expect(row.state == .queued && row.deletedAt == nil)

            // Deleted some other way while still queued (as before this was fixed): kept until it ends.
            try await sqlDatabase(app.db).raw(
                "UPDATE generations SET deleted_at = \(bind: Date().addingTimeInterval(-3600)) WHERE id = \(bind: queued.id)"
            ).run()
            #expect(try await GallerySweeps.purgeDeleted(app: app, now: Date()) == 0)
            row = try #require(try await GenerationModel.find(queued.id, on: app.db))
            #expect(try await GenerationService.end(row, as: .cancelled, reason: "test", app: app, on: app.db))
            #expect(try await GallerySweeps.purgeDeleted(app: app, now: Date()) == 1)
            #expect(credits.settlements(of: queued.id).map(\.captured) == [0])
        }
    }

    @Test func favouriteVariationAndUseAgainFromThePage() async throws {
        try await withPictor { app in
            app.pictor = app.pictor.with(models: scriptedCatalog(Self.instant))
            let browser = try await signedInForAPI(app, email: "varier@example.com")
            let original = try await finishedGenerations(app, browser, prompts: ["a fox in snow"])[0]
            let page = "/generations/\(original.id.uuidString.lowercased())"
            #expect(try await browser.get(page).text.contains("☆ Add to favourites"))
            #expect(try await browser.post(page + "/favourite", ["favourite": "1"]).status == .seeOther)
            #expect(try await browser.get(page).text.contains(#"aria-pressed="true">★ Favourite"#))
            #expect(try await browser.generation(original.id).favourite)
            try await browser.post(page + "/favourite", ["favourite": "0"])
            #expect(try await browser.generation(original.id).favourite == false)

            let variation = try await browser.post(page + "/variation")
            #expect(variation.status == .seeOther)
            let newID = try #require(variation.location.flatMap { UUID(uuidString: String($0.dropFirst("/generations/".count))) })
            let copy = try await browser.generation(newID)
            #expect(newID != original.id && copy.prompt == "a fox in snow" && copy.seed != original.seed)

            let form = try await browser.get("/studio?from=\(original.id.uuidString.lowercased())")
            #expect(form.text.contains(">a fox in snow</textarea>"))
            #expect(form.text.contains(#"value="\#(original.seed)""#))
            #expect(form.text.contains(#"<option value="64x64" selected>"#))
            // The studio's recent list offers "Use again" for each.
            #expect(try await browser.get("/studio").text.contains("Use again"))
        }
    }

    @Test func downloadsInEachFormatAreRecordedAndMarked() async throws {
        try await withPictor { app in
            app.pictor = app.pictor.with(models: scriptedCatalog(Self.instant))
            let browser = try await signedInForAPI(app, email: "downloader@example.com")
            let made = try await finishedGenerations(app, browser, prompts: ["a teapot"])[0]
            let image = made.images[0]
            let base = "/images/\(image.id.uuidString.lowercased())/download"
            for (format, expected) in [("png", ImageFormat.png), ("jpeg", .jpeg), ("webp", .webp)] {
                let response = try await browser.api(.GET, base + "?format=\(format)")
                #expect(response.status == .ok)
                let bytes = Data(buffer: response.body)
                #expect(ImageFormat.sniff(bytes) == expected, "\(format)")
                #expect(response.headers.first(name: .contentDisposition)?.hasPrefix("attachment; filename=\"pictor-") == true)
                #expect(String(decoding: bytes, as: UTF8.self).contains("trainedAlgorithmicMedia"), "\(format) lost the AI marker")
            }
            // A HEAD (download managers and link checkers ask first) answers as the download
            // would, and downloads nothing: it is not recorded.
            let head = try await browser.api(.HEAD, base + "?format=webp")
            #expect(head.status == .ok && head.headers.contentType?.subType == "webp")
            let activity = try await DownloadStore.recent(of: try #require(try await UserModel.query(on: app.db).first()?.id), limit: 10, on: app.db)
            #expect(activity.map(\.format) == ["webp", "jpeg", "png"])
            #expect(activity.allSatisfy { $0.imageID == image.id && $0.generationID == made.id })

            let bad = try await browser.api(.GET, base + "?format=gif")
            #expect(bad.status == .badRequest && bad.body.string.contains("png, jpeg or webp"))
            let stranger = try await signedInForAPI(app, email: "not-a-downloader@example.com")
            #expect(try await stranger.api(.GET, base).status == .notFound)
            #expect(try await sqlDatabase(app.db).raw("SELECT COUNT(*) AS n FROM downloads").first()?.decode(column: "n", as: Int.self) == 3)
        }
    }

    @Test func shareLinksOpenWithoutSignInShowNoPersonalDataAndCanBeRevoked() async throws {
        try await withPictor { app in
            app.pictor = app.pictor.with(models: scriptedCatalog(Self.instant))
            let browser = try await signedInForAPI(app, email: "sharer@example.com")
            let made = try await finishedGenerations(app, browser, prompts: ["a secret garden"])[0]
            let page = "/generations/\(made.id.uuidString.lowercased())"
            try await browser.get(page)
            let created = try await browser.post(page + "/share", ["expires": "7"])
            #expect(created.status == .created)
            let url = try #require(
                created.text.components(separatedBy: #"class="share-url" type="text" readonly value=""#).dropFirst().first?.prefix { $0 != "\"" })
            let path = String(url.dropFirst(app.pictor.config.publicBaseURL.absoluteString.trimmingSuffix("/").count))
            #expect(path.hasPrefix("/s/") && path.count > 30)
            // Only the hash is stored.
            let token = String(path.dropFirst(3))
            let stored = try await sqlDatabase(app.db).raw("SELECT token_hash FROM share_links").first()?.decode(
                column: "token_hash", as: String.self)
            #expect(stored == Tokens.sha256(token))

            // Anyone with the link: no cookies, no account.
            let visitor = Browser(app)
            let shared = try await visitor.get(path)
            #expect(shared.status == .ok)
            #expect(shared.headers.first(name: "Referrer-Policy") == "no-referrer" && shared.headers.first(name: .cacheControl) == "no-store")
            #expect(!shared.text.contains("sharer@example.com") && !shared.text.contains(made.id.uuidString.lowercased()))
            #expect(!shared.text.contains("a secret garden"))  // the prompt was not chosen
            let picture = try await visitor.get(path + "/images/1")
            #expect(picture.status == .ok && ImageFormat.sniff(Data(buffer: picture.body)) == .png)
            #expect(try await visitor.get(path + "/images/2").status == .notFound)
            #expect(try await visitor.get("/s/" + Tokens.random(bytes: 24)).status == .notFound)

            // A second link shows the prompt; the owner's page lists both.
            try await browser.post(page + "/share", ["expires": "never", "showPrompt": "on"])
            let links = try await ShareLinkStore.links(for: made.id, of: try #require(try await UserModel.query(on: app.db).first()?.id), on: app.db)
            #expect(links.count == 2 && links[0].showsPrompt && links[0].expiresAt == nil)
            let owned = try await browser.get(page)
            #expect(owned.text.contains("never expires, shows the prompt") && owned.text.contains("expires "))

            // Revoked: gone at once, and said so.
            let revokeURL = "\(page)/shares/\(links[1].id.uuidString.lowercased())/revoke"
            #expect(try await browser.post(revokeURL).status == .seeOther)
            let revoked = try await visitor.get(path)
            #expect(revoked.status == .gone && revoked.text.contains("revoked or has expired"))
            #expect(try await visitor.get(path + "/images/1").status == .gone)
            // A suspended owner's links stop working with the account.
            try await sqlDatabase(app.db).raw("UPDATE users SET status = 'suspended' WHERE email = 'sharer@example.com'").run()
            #expect(try await visitor.get(path).status == .notFound)
            try await sqlDatabase(app.db).raw("UPDATE users SET status = 'active' WHERE email = 'sharer@example.com'").run()
            // Expired: the same.
            try await sqlDatabase(app.db).raw("UPDATE share_links SET expires_at = \(bind: Date().addingTimeInterval(-1)), revoked_at = NULL").run()
            #expect(try await visitor.get(path).status == .gone)
            // Only a finished generation with images can be shared.
            let waiting: GenerationView = try await browser.generate(#"{"model":"builtin","prompt":"not yet","size":"512x512"}"#).decoded()
            let notYet = try await browser.post("/generations/\(waiting.id.uuidString.lowercased())/share", ["expires": "7"])
            #expect(notYet.status == .conflict && notYet.text.contains("Only a finished generation"))
            // Another person cannot revoke or make links to it; both are audited for the owner.
            let stranger = try await signedInForAPI(app, email: "not-a-sharer@example.com")
            try await stranger.get("/gallery")
            #expect(try await stranger.post(revokeURL).status == .notFound)
            #expect(try await stranger.post(page + "/share", ["expires": "7"]).status == .notFound)
            let audited = try await sqlDatabase(app.db).raw("SELECT action FROM audit_log WHERE action LIKE 'share_link.%' ORDER BY occurred_at")
                .all()
                .map { try $0.decode(column: "action", as: String.self) }
            #expect(audited == ["share_link.created", "share_link.created", "share_link.revoked"])
        }
    }
}

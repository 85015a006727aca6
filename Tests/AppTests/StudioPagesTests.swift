import Fluent
import Foundation
import Imaging
import Persistence
import Providers
import SQLKit
import TestSupport
import Testing
import Vapor
import VaporTesting

@testable import App

@Suite struct StudioPagesTests {
    @Test func visitorsAreSentToSignIn() async throws {
        try await withPictor { app in
            let visitor = Browser(app)
            for path in ["/studio", "/gallery", "/generations/\(UUID())"] {
                let response = try await visitor.get(path)
                #expect(response.status == .seeOther && response.location?.hasPrefix("/login?next=") == true, "\(path)")
            }
        }
    }

    @Test func theStudioShowsErrorsNextToTheirFields() async throws {
        try await withPictor { app in
            let browser = try await Accounts.signedIn(app, email: "studio@example.com")
            let form = try await browser.get("/studio")
            #expect(form.status == .ok)
            #expect(form.text.contains("Built-in preview engine (no AI model)"))
            #expect(form.text.contains("Nothing yet."))
            let refused = try await browser.post("/studio", ["prompt": "  ", "size": "512x512", "count": "1", "seed": "minus one", "style": ""])
            #expect(refused.status == .badRequest)
            #expect(refused.text.contains(#"id="prompt-error">Describe the picture you want."#))
            #expect(refused.text.contains(#"id="seed-error">Use a whole number"#))
            #expect(refused.text.contains("You were not charged"))
            #expect(refused.text.contains(#"<option value="512x512" selected>"#))
            #expect(try await GenerationModel.query(on: app.db).count() == 0)
        }
    }

    @Test func aGenerationFromTheStudioAppearsOnItsPageAndInTheGallery() async throws {
        try await withPictor { app in
            let browser = try await Accounts.signedIn(app, email: "painter@example.com")
            try await browser.get("/studio")
            let submitted = try await browser.post(
                "/studio", ["prompt": "a red kite over green hills", "size": "512x512", "count": "2", "seed": "", "style": ""])
            #expect(submitted.status == .seeOther)
            let page = try #require(submitted.location)
            #expect(page.hasPrefix("/generations/"))
            let waiting = try await browser.get(page)
            #expect(waiting.text.contains("Waiting") && waiting.text.contains(#"data-events="/generations/"#))
            #expect(waiting.text.contains("2 credits held"))

            try await withRunner(app, handlers: workHandlers) { _ in
                let id = try #require(UUID(uuidString: String(page.dropFirst("/generations/".count))))
                #expect(try await eventually { try await GenerationModel.find(id, on: app.db)?.state == .succeeded })
            }
            let done = try await browser.get(page)
            #expect(done.text.contains(">Done<"))
            #expect(done.text.components(separatedBy: #"<img src="/images/"#).count == 3)
            #expect(done.text.contains("2 credits"))
            #expect(!done.text.contains("Left out"))  // no negative prompt was given
            let gallery = try await browser.get("/gallery")
            // One tile per generation: its first image, and how many more it has.
            #expect(gallery.text.components(separatedBy: "/thumbnail").count == 2)
            #expect(gallery.text.contains(#"<span class="tile-more" aria-label="+1 more images">+1</span>"#))
            #expect(gallery.text.contains(#"alt="a red kite over green hills""#))

            let stranger = try await Accounts.signedIn(app, email: "stranger@example.com")
            #expect(try await stranger.get(page).status == .notFound)
            #expect(try await stranger.get("/gallery").text.contains("No images yet"))
        }
    }

    @Test func theCostLineSaysTheBalanceAndNotEnoughCreditsIsSaidNextToTheButton() async throws {
        try await withPictor({ $0.signUpGrantCredits = 1 }) { app in
            let browser = try await Accounts.signedIn(app, email: "short@example.com")
            let form = try await browser.get("/studio")
            #expect(form.text.contains(#"data-available="1""#) && form.text.contains("you have 1 credit."))
            let answer = try await browser.post("/studio", ["prompt": "two foxes", "size": "512x512", "count": "2", "seed": "7", "style": ""])
            #expect(answer.status == .paymentRequired)
            #expect(
                answer.text.contains(#"id="credits-error" role="alert">This needs 2 credits and you have 1."#)
                    && answer.text.contains("You were not charged."))
            #expect(
                answer.text.contains(#"<a href="/billing">Buy credits</a>"#)
                    && answer.text.contains(#"aria-describedby="credits-error">Generate</button>"#))
            #expect(answer.text.contains(">two foxes</textarea>") && answer.text.contains(#"<option value="2" selected>"#))
            #expect(try await GenerationModel.query(on: app.db).count() == 0)
            let user = try #require(try await UserStore.find(email: "short@example.com", on: app.db)?.id)
            #expect(try await LedgerStore.balance(of: user, on: app.db) == .init(available: 1, held: 0))
        }
    }

    @Test func cancellingFromThePage() async throws {
        try await withPictor { app in
            let browser = try await Accounts.signedIn(app, email: "quitter@example.com")
            try await browser.get("/studio")
            let page = try #require(try await browser.post("/studio", ["prompt": "a boat", "size": "512x512", "count": "1"]).location)
            try await browser.get(page)
            let cancelled = try await browser.post(page + "/cancel")
            #expect(cancelled.status == .seeOther && cancelled.location == page)
            let after = try await browser.get(page)
            #expect(after.text.contains("Cancelled") && after.text.contains("not charged"))
        }
    }
}

/// Reference images chosen in the studio form (multipart): stored clean and used, or refused
/// next to their field with nothing left behind.
@Suite struct StudioReferenceTests {
    func multipart(_ fields: [String: String], files: [(name: String, data: Data)]) -> (String, ByteBuffer) {
        let boundary = "pictor-test-\(UUID().uuidString)"
        var body = ""
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
            body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n"
        }
        var buffer = ByteBuffer(string: body)
        for file in files {
            buffer.writeString(
                "--\(boundary)\r\nContent-Disposition: form-data; name=\"references[]\"; filename=\"\(file.name)\"\r\nContent-Type: image/png\r\n\r\n"
            )
            buffer.writeBytes(file.data)
            buffer.writeString("\r\n")
        }
        buffer.writeString("--\(boundary)--\r\n")
        return ("multipart/form-data; boundary=\(boundary)", buffer)
    }

    func png(side: Int = 48) throws -> Data {
        let pixels = [UInt8](repeating: 200, count: side * side * 3)
        let image = try pixels.withUnsafeBytes { try Image(pixels: $0, width: side, height: side, bands: 3) }
        return try image.encode(.png())
    }

    @Test func referencesFromTheFormAreStoredAndUsed() async throws {
        try await withPictor { app in
            let browser = try await Accounts.signedIn(app, email: "referencer@example.com")
            let form = try await browser.get("/studio")
            #expect(form.text.contains(#"enctype="multipart/form-data""#) && form.text.contains(#"name="references[]""#))
            let csrf = try #require(browser.csrf)
            let (type, body) = multipart(
                ["_csrf": csrf, "prompt": "a harbour like this", "size": "512x512", "count": "1"],
                files: [("harbour.png", try png())])
            let answer = try await browser.post("/studio", body: body, contentType: type)
            #expect(answer.status == .seeOther, "\(answer.body.string.prefix(300))")
            let generation = try #require(try await GenerationModel.query(on: app.db).first())
            let references = try JSONDecoder().decode([UUID].self, from: Data(generation.referenceIDs.utf8))
            #expect(references.count == 1)
            #expect(try await ReferenceImageModel.query(on: app.db).count() == 1)
            let id = try #require(generation.id)
            try await withRunner(app, handlers: workHandlers) { _ async throws in
                #expect(try await eventually { try await GenerationModel.find(id, on: app.db)?.state == .succeeded })
            }
            let image = try #require(try await GenerationImageModel.query(on: app.db).first())
            #expect(image.digitalSourceType == "compositeWithTrainedAlgorithmicMedia")

            // Uploaded with this generation, the reference goes when it is deleted for good.
            #expect(try await ReferenceImageModel.query(on: app.db).first()?.generationID == id)
            try await browser.get("/generations/\(id.uuidString.lowercased())")
            #expect(try await browser.post("/generations/\(id.uuidString.lowercased())/delete").status == .seeOther)
            try await sqlDatabase(app.db).raw("UPDATE generations SET deleted_at = \(bind: Date().addingTimeInterval(-3600))").run()
            #expect(try await GallerySweeps.purgeDeleted(app: app, now: Date()) == 1)
            #expect(try await ReferenceImageModel.query(on: app.db).count() == 0)
            #expect(try await app.pictor.blobs.list(prefix: "users/").isEmpty)
        }
    }

    /// The references uploaded with a form are attached to its generation in the same
    /// transaction: when attaching fails, there is no generation left queued whose references
    /// the failed form then removed (it would fail later, "a reference image was deleted").
    @Test func aFormWhoseReferencesCannotBeAttachedLeavesNothing() async throws {
        try await withPictor { app in
            let browser = try await Accounts.signedIn(app, email: "unattached@example.com")
            try await browser.get("/studio")
            let csrf = try #require(browser.csrf)
            try await refuse("UPDATE", on: "reference_images", in: app.db)
            let (type, body) = multipart(
                ["_csrf": csrf, "prompt": "a harbour like this", "size": "512x512", "count": "1"],
                files: [("harbour.png", try png())])
            #expect(try await browser.post("/studio", body: body, contentType: type).status == .internalServerError)
            #expect(try await GenerationModel.query(on: app.db).count() == 0)
            #expect(try await ReferenceImageModel.query(on: app.db).count() == 0)
            #expect(try await app.pictor.blobs.list(prefix: "users/").isEmpty)
        }
    }

    /// A reference uploaded with one generation (it goes when that one is purged) and used
    /// again by another (a variation) is kept when the first is purged, now with the second: the
    /// second keeps working, and the reference goes when the second is purged too.
    @Test func aReferenceUsedAgainOutlivesThePurgeOfItsFirstGeneration() async throws {
        try await withPictor { app in
            app.pictor = app.pictor.with(models: scriptedCatalog(ScriptedProvider()))
            let browser = try await signedInForAPI(app, email: "reuser@example.com")
            let reference: ReferenceImageTests.Reference = try await browser.apiBytes(
                .POST, "/api/v1/reference-images", multipart: try ReferenceImageTests.photoWithComment("x")
            ).decoded()
            let body = #"{"model":"scripted","prompt":"like this","size":"64x64","referenceImageIds":["\#(reference.id)"]}"#
            let first: GenerationView = try await browser.generate(body).decoded()
            try await ReferenceImageStore.attach([reference.id], to: first.id, on: app.db)  // as the studio form does
            let second: GenerationView = try await browser.generate(body).decoded()
            #expect(try await browser.api(.DELETE, "/api/v1/generations/\(first.id)").status == .noContent)
            try await sqlDatabase(app.db).raw(
                "UPDATE generations SET deleted_at = \(bind: Date().addingTimeInterval(-3600)) WHERE id = \(bind: first.id)"
            ).run()
            #expect(try await GallerySweeps.purgeDeleted(app: app, now: Date()) == 1)

            let kept = try #require(try await ReferenceImageModel.find(reference.id, on: app.db))
            #expect(kept.generationID == second.id)
            #expect(try await browser.api(.GET, "/api/v1/reference-images/\(reference.id)/file").status == .ok)
            try await withRunner(app, handlers: workHandlers) { _ in
                let done = try await browser.finished(second.id)
                #expect(done.status == "succeeded", "\(done.status) \(done.reason ?? "")")
            }

            // Once no generation uses it, the photo goes with the last one: nothing of it is kept.
            #expect(try await browser.api(.DELETE, "/api/v1/generations/\(second.id)").status == .noContent)
            try await sqlDatabase(app.db).raw(
                "UPDATE generations SET deleted_at = \(bind: Date().addingTimeInterval(-3600)) WHERE id = \(bind: second.id)"
            ).run()
            #expect(try await GallerySweeps.purgeDeleted(app: app, now: Date()) == 1)
            #expect(try await ReferenceImageModel.query(on: app.db).count() == 0)
            #expect(try await app.pictor.blobs.list(prefix: "users/").isEmpty)
        }
    }

    @Test func aBadReferenceIsRefusedNextToItsFieldAndNothingIsKept() async throws {
        try await withPictor { app in
            let browser = try await Accounts.signedIn(app, email: "bomber@example.com")
            try await browser.get("/studio")
            let csrf = try #require(browser.csrf)
            // Multipart forms need the token too.
            let (bareType, bare) = multipart(["prompt": "fine", "size": "512x512", "count": "1"], files: [("good.png", try png())])
            #expect(try await browser.post("/studio", body: bare, contentType: bareType).status == .forbidden)
            let (forgedType, forged) = multipart(["_csrf": String(repeating: "x", count: 43), "prompt": "fine"], files: [])
            #expect(try await browser.post("/studio", body: forged, contentType: forgedType).status == .forbidden)
            // Only the studio's multipart form is read: elsewhere multipart is refused unread.
            let (otherType, other) = multipart(["_csrf": csrf, "favourite": "1"], files: [])
            #expect(try await browser.post("/generations/\(UUID())/favourite", body: other, contentType: otherType).status == .unsupportedMediaType)
            let (type, body) = multipart(
                ["_csrf": csrf, "prompt": "fine", "size": "512x512", "count": "1"],
                files: [("good.png", try png()), ("huge.png", TestPNG.bomb(width: 100_000, height: 100_000))])
            let answer = try await browser.post("/studio", body: body, contentType: type)
            #expect(answer.status == .badRequest)
            #expect(
                answer.body.string.contains(#"id="references-error""#) && answer.body.string.contains("huge.png: The image is 100000×100000 pixels"))
            #expect(answer.body.string.contains("Choose the reference images again."))
            #expect(try await ReferenceImageModel.query(on: app.db).count() == 0)
            #expect(try await GenerationModel.query(on: app.db).count() == 0)
            #expect(try await app.pictor.blobs.list(prefix: "users/").isEmpty)

            // A prompt problem with a good reference: refused, and the reference is not kept either.
            let (type2, body2) = multipart(["_csrf": csrf, "prompt": "", "size": "512x512", "count": "1"], files: [("good.png", try png())])
            let second = try await browser.post("/studio", body: body2, contentType: type2)
            #expect(second.status == .badRequest && second.body.string.contains(#"id="prompt-error""#))
            #expect(try await ReferenceImageModel.query(on: app.db).count() == 0)
        }
    }

    /// A form refused for its text is refused before any image in it is read: the answer speaks
    /// of the prompt only, although the file is not an image at all (read first, the file's
    /// error came alone and a form could make the server decode four large images per refusal).
    @Test func aFormRefusedForItsTextReadsNoImage() async throws {
        try await withPictor { app in
            let browser = try await Accounts.signedIn(app, email: "text-first@example.com")
            try await browser.get("/studio")
            let csrf = try #require(browser.csrf)
            let (type, body) = multipart(
                ["_csrf": csrf, "prompt": "", "size": "512x512", "count": "1"],
                files: [("junk.png", Data("not an image".utf8))])
            let answer = try await browser.post("/studio", body: body, contentType: type)
            #expect(answer.status == .badRequest)
            #expect(answer.body.string.contains(#"id="prompt-error""#))
            #expect(!answer.body.string.contains("junk.png:"), "the file was read")
            #expect(try await ReferenceImageModel.query(on: app.db).count() == 0)
        }
    }

    /// The studio form's token is its first field, read without parsing the upload: a form that
    /// carries it further down (no page of Pictor's sends one) is refused.
    @Test func theStudioFormsTokenIsItsFirstField() async throws {
        try await withPictor { app in
            let browser = try await Accounts.signedIn(app, email: "token-first@example.com")
            try await browser.get("/studio")
            let csrf = try #require(browser.csrf)
            var late = ByteBuffer()
            for (name, value) in [("prompt", "a quiet harbour"), ("_csrf", csrf), ("size", "512x512"), ("count", "1")] {
                late.writeString("--b\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n")
            }
            late.writeString("--b--\r\n")
            #expect(try await browser.post("/studio", body: late, contentType: "multipart/form-data; boundary=b").status == .forbidden)
            #expect(try await GenerationModel.query(on: app.db).count() == 0)
        }
    }
}

/// The studio's size, count, style and price follow the model picked: the page carries each
/// model's options for its script, and without the script the server re-renders the form with
/// the submitted model's options and says when the submitted size is not one of them.
@Suite struct StudioModelOptionsTests {
    @Test func eachModelsOptionsTravelWithThePageAndARefusedFormShowsThePickedModels() async throws {
        try await withPictor { app in
            app.pictor = app.pictor.with(models: scriptedCatalog(ScriptedProvider(otherwise: [.deliver(side: 64)]), price: 3))
            let browser = try await Accounts.signedIn(app, email: "model-options@example.com")
            let page = try await browser.get("/studio")
            let attribute = try #require(page.text.firstMatch(of: /data-models="([^"]*)"/)?.1)
            let json = String(attribute).replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
            let options = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: [String: Any]])
            #expect(Set(options.keys) == ["scripted", "builtin"])
            #expect(options["scripted"]?["price"] as? Int == 3 && options["builtin"]?["price"] as? Int == 1)
            let builtInSizes = (options["builtin"]?["sizes"] as? [[String: Any]])?.compactMap { $0["value"] as? String } ?? []
            let scriptedSizes = (options["scripted"]?["sizes"] as? [[String: Any]])?.compactMap { $0["value"] as? String } ?? []
            #expect(!builtInSizes.isEmpty && !scriptedSizes.isEmpty && builtInSizes != scriptedSizes)
            #expect((options["scripted"]?["styles"] as? [[String: Any]])?.contains { $0["value"] as? String == "vivid" } == true)

            // Without the script: a size the picked model does not make is said next to the size,
            // and the form comes back with that model's sizes and price.
            let foreign = try #require(scriptedSizes.first { !builtInSizes.contains($0) } ?? (builtInSizes.contains("64x64") ? nil : "64x64"))
            let refused = try await browser.post("/studio", ["prompt": "a kite", "model": "builtin", "size": foreign, "count": "1"])
            #expect(refused.status == .badRequest)
            #expect(refused.text.contains("is not one of them"))
            #expect(refused.text.contains("1 credit per image"))
            for size in builtInSizes { #expect(refused.text.contains(#"value="\#(size)""#)) }
        }
    }
}

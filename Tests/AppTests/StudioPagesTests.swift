@testable import App
import Fluent
import Foundation
import Persistence
import Testing
import Vapor
import VaporTesting

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
            let submitted = try await browser.post("/studio", ["prompt": "a red kite over green hills", "size": "512x512", "count": "2", "seed": "", "style": ""])
            #expect(submitted.status == .seeOther)
            let page = try #require(submitted.location)
            #expect(page.hasPrefix("/generations/"))
            let waiting = try await browser.get(page)
            #expect(waiting.text.contains("Waiting") && waiting.text.contains(#"data-events="/generations/"#))
            #expect(waiting.text.contains("2 credits held"))

            try await withRunner(app, handlers: workHandlers) { _ in
                let id = try #require(UUID(uuidString: String(page.dropFirst("/generations/".count))))
                #expect(try await eventually { try await GenerationModel.find(id, on: app.db)?.state == "succeeded" })
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

import Domain
import Fluent
import Foundation
import Persistence
import Providers
import SQLKit
import Testing
import Vapor
import VaporTesting

@testable import App

/// Search over encrypted prompts and the gallery's filters, on SQLite (FTS5) and PostgreSQL (tsvector).
@Suite struct GallerySearchTests {
    static let instant = ScriptedProvider(otherwise: [.deliver(side: 64)])

    @Test func searchFindsPromptsByTheirWordsAndStoresNoWords() async throws {
        try await withPictor { app in
            app.pictor = app.pictor.with(models: scriptedCatalog(Self.instant))
            let browser = try await signedInForAPI(app, email: "searcher@example.com")
            let made = try await finishedGenerations(
                app, browser,
                prompts: [
                    "a lighthouse at dusk", "two kites over green hills", "Lighthouses and boxes of café au lait",
                ])
            func search(_ q: String) async throws -> [String] {
                let encoded = q.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? q
                let page: GenerationPageView = try await browser.api(.GET, "/api/v1/generations?q=\(encoded)").decoded()
                return page.data.map(\.prompt)
            }
            #expect(try await search("lighthouse") == ["Lighthouses and boxes of café au lait", "a lighthouse at dusk"])
            #expect(try await search("LIGHTHOUSE dusk") == ["a lighthouse at dusk"])
            #expect(try await search("cafe box") == ["Lighthouses and boxes of café au lait"])
            #expect(try await search("kite") == ["two kites over green hills"])
            #expect(try await search("submarine").isEmpty)
            #expect(try await search("a").isEmpty)  // no word of two letters or more: nothing matches

            // The database holds keyed hashes, not words.
            let stored = try await GenerationModel.find(made[0].id, on: app.db)?.searchTerms ?? ""
            #expect(stored.split(separator: " ").count == 3)  // "lighthouse", "at", "dusk"
            #expect(!stored.contains("lighthouse") && !stored.contains("dusk"))

            // The same prompt from somebody else is theirs alone, and hashes differently.
            let other = try await signedInForAPI(app, email: "other-searcher@example.com")
            let theirs = try await finishedGenerations(app, other, prompts: ["a lighthouse at dusk"])
            #expect(try await search("dusk").count == 1)
            let theirTerms = try await GenerationModel.find(theirs[0].id, on: app.db)?.searchTerms ?? ""
            #expect(Set(theirTerms.split(separator: " ")).isDisjoint(with: Set(stored.split(separator: " "))))

            // The page: the search box keeps the words, results show, an empty result says so.
            let page = try await browser.get("/gallery?q=dusk")
            #expect(page.status == .ok && page.text.contains(#"value="dusk""#))
            #expect(page.text.components(separatedBy: "/thumbnail").count == 2)
            #expect(try await browser.get("/gallery?q=submarine").text.contains("Nothing matches"))
        }
    }

    @Test func filtersByStatusModelFavouritesAndDate() async throws {
        try await withPictor { app in
            app.pictor = app.pictor.with(models: scriptedCatalog(Self.instant))
            let browser = try await signedInForAPI(app, email: "filterer@example.com")
            let made = try await finishedGenerations(app, browser, prompts: ["first picture", "second picture"])
            // A third one never runs: it stays queued.
            let queued: GenerationView = try await browser.generate(#"{"model":"builtin","prompt":"third picture","size":"512x512"}"#).decoded()
            func list(_ query: String) async throws -> [UUID] {
                let page: GenerationPageView = try await browser.api(.GET, "/api/v1/generations?\(query)").decoded()
                return page.data.map(\.id)
            }
            #expect(try await list("status=queued") == [queued.id])
            #expect(try await list("status=succeeded") == [made[1].id, made[0].id])
            #expect(try await list("model=scripted") == [made[1].id, made[0].id])
            #expect(try await list("model=builtin") == [queued.id])
            #expect(try await list("favourites=1").isEmpty)
            #expect(try await browser.api(.PUT, "/api/v1/generations/\(made[0].id)/favourite").decoded(GenerationView.self).favourite)
            #expect(try await list("favourites=1") == [made[0].id])
            #expect(try await list("favourites=1&q=picture") == [made[0].id])
            #expect(try await list("q=picture&status=succeeded").count == 2)
            let today = ISO8601DateFormatter.string(from: Date(), timeZone: TimeZone(identifier: "UTC")!, formatOptions: [.withFullDate])
            #expect(try await list("from=\(today)&to=\(today)").count == 3)
            #expect(try await list("to=2020-01-01").isEmpty)

            // Nonsense is refused per field, in words.
            #expect(try await browser.api(.GET, "/api/v1/generations?to=2026-02-31").status == .badRequest)
            let bad = try await browser.api(.GET, "/api/v1/generations?status=sideways&from=yesterday")
            #expect(bad.status == .badRequest)
            let problem: ProblemView = try bad.decoded()
            #expect(Set(problem.errors?.map(\.field) ?? []) == ["status", "from"])
            let page = try await browser.get("/gallery?status=sideways")
            #expect(page.status == .badRequest && page.text.contains("Choose one of: succeeded"))
            #expect(page.text.contains(#"aria-describedby="status-error""#))
            // The filters sit in a disclosure: open when one is set or wrong, closed otherwise.
            #expect(page.text.contains(#"<details class="gallery-filters" open>"#))
            #expect(try await browser.get("/gallery?q=picture").text.contains(#"<details class="gallery-filters">"#))

            // Favourites on the page, and the filter there.
            #expect(try await browser.get("/gallery?favourites=1").text.contains(#"<span class="tile-favourite" aria-label="Favourite">★</span>"#))
            let stranger = try await signedInForAPI(app, email: "not-the-owner@example.com")
            #expect(try await stranger.api(.PUT, "/api/v1/generations/\(made[0].id)/favourite").status == .notFound)
        }
    }

    @Test func pagesOfTheGalleryFollowEachOtherWithTheFilterKept() async throws {
        try await withPictor { app in
            let browser = try await signedInForAPI(app, email: "many@example.com")
            let user = try #require(try await UserModel.query(on: app.db).filter(\.$email == "many@example.com").first())
            try await insertGenerations(app, user: user.id!, count: GalleryController.pageSize + 5, prompt: "a quiet harbour")
            let first = try await browser.get("/gallery?q=harbour")
            #expect(first.text.components(separatedBy: #"class="gallery-tile""#).count == GalleryController.pageSize + 1)
            let next = try #require(
                first.text.components(separatedBy: #"id="older""#).first?.components(separatedBy: #"href=""#).last?
                    .prefix { $0 != "\"" }
            ).replacingOccurrences(of: "&amp;", with: "&")
            #expect(next.contains("q=harbour") && next.contains("after="))
            let second = try await browser.get(String(next))
            #expect(second.text.components(separatedBy: #"class="gallery-tile""#).count == 6)
            #expect(!second.text.contains(#"id="older""#))
            // An edited or stale page link: the gallery itself says so, with its search form.
            let stale = try await browser.get("/gallery?after=nonsense")
            #expect(
                stale.status == .badRequest && stale.text.contains("This page link is not one Pictor gave out") && stale.text.contains(#"name="q""#))
        }
    }
}

/// Inserts finished-looking generations straight into the database (no images), newest last.
func insertGenerations(_ app: Application, user: UUID, count: Int, prompt: String) async throws {
    let key = try await app.pictor.contentKeys.key(for: user, on: app.db)
    let start = Date().addingTimeInterval(-Double(count))
    for index in 0..<count {
        let g = GenerationModel()
        g.id = UUID()
        g.userID = user
        g.model = "builtin"
        g.promptSealed = try key.seal(text: prompt)
        g.negativePromptSealed = try key.seal(text: "")
        g.width = 512
        g.height = 512
        g.count = 1
        g.seed = Int64(index)
        g.style = ""
        g.referenceIDs = "[]"
        g.state = .succeeded
        g.progress = 1
        g.pricePerImage = 1
        g.creditsHeld = 1
        g.creditsCharged = 1
        g.requestHash = "x\(index)"
        g.searchTerms = SearchTokens.tokens(for: prompt, key: key).joined(separator: " ")
        g.createdAt = start.addingTimeInterval(Double(index)).roundedToMillisecond
        g.updatedAt = g.createdAt
        try await GenerationStore.insert(g, on: app.db)
    }
}

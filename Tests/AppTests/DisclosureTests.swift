import Fluent
import Foundation
import Persistence
import Providers
import Testing
import Vapor

@testable import App

@Suite struct DisclosureTests {
    struct Item: Decodable {
        let processor: String
        let purpose: String
        let categories: String
        let generationId: UUID?
    }

    @Test func everyCallToAnOutsideProviderIsRecordedForItsPerson() async throws {
        let remote = ScriptedProvider(id: "remote")
        try await withPictor { app in
            app.pictor = app.pictor.with(models: remoteCatalog(remote))
            let browser = try await signedInForAPI(app, email: "curious@example.com")
            let other = try await signedInForAPI(app, email: "someone-else@example.com")
            let viaRemote: GenerationView = try await browser.generate(
                #"{"model":"remote","prompt":"a cat","negativePrompt":"dogs","size":"64x64"}"#
            ).decoded()
            let local: GenerationView = try await browser.generate(#"{"model":"builtin","prompt":"a cat","size":"512x512"}"#).decoded()
            try await withRunner(app, handlers: workHandlers) { _ in
                let ends = (try await browser.finished(viaRemote.id).status, try await browser.finished(local.id).status)
                #expect(ends == ("succeeded", "succeeded"))
            }
            let items: [Item] = try await browser.api(.GET, "/api/v1/account/disclosures").decoded()
            #expect(items.count == 1)  // the built-in engine runs here: nothing was disclosed
            let item = try #require(items.first)
            #expect(item.processor == "Example Images Inc. (api.example.com)" && item.generationId == viaRemote.id)
            #expect(item.categories == "prompt, negative prompt, pseudonymous user id")
            #expect(item.purpose == "Making the images you asked for")
            let theirs: [Item] = try await other.api(.GET, "/api/v1/account/disclosures").decoded()
            #expect(theirs.isEmpty)

            // What the provider received as the person's id is a keyed hash, not the email.
            let sent = try #require(await remote.received().first)
            #expect(sent.endUser.hasPrefix("u_") && sent.endUser.count == 26 && !sent.endUser.contains("curious"))
        }
    }
}

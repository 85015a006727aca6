import Domain
import Foundation
import Providers
import Testing
import VaporTesting

@testable import App

@Suite struct PagesTests {
    static let pages: [SiteURL] = [.home, .privacy, .terms, .cookies, .doNotSell]

    @Test(arguments: pages)
    func pageRendersInTheLayoutWithTheLegalLinks(_ page: SiteURL) async throws {
        try await withPictor { app in
            try await app.testing().test(.GET, page.path) { res in
                #expect(res.status == .ok)
                let html = res.text
                #expect(html.hasPrefix("<!doctype html>"))
                #expect(html.contains("<meta name=\"viewport\""))
                #expect(html.contains("<link rel=\"stylesheet\" href=\"/css/pictor.css\">"))
                for link in [SiteURL.privacy, .terms, .cookies, .doNotSell] {
                    #expect(html.contains("href=\"\(link.path)\""), "footer link to \(link.path)")
                }
                #expect(html.contains("Do Not Sell or Share My Personal Information"))
                #expect(html.contains("<main id=\"main\""))
                #expect(html.contains("aria-current=\"page\"") || page == .home)
            }
        }
    }

    /// The CSP forbids inline script and style: a page that used them would break in browsers.
    @Test(arguments: pages)
    func pagesUseNoInlineScriptOrStyle(_ page: SiteURL) async throws {
        try await withPictor { app in
            try await app.testing().test(.GET, page.path) { res in
                let html = res.text
                #expect(!html.contains("<script>") && !html.contains("<script type"), "inline <script>")
                #expect(!html.contains(" style=\""), "inline style attribute")
                #expect(!html.contains("<style"), "inline <style>")
                #expect(!html.contains(" onclick=") && !html.contains(" onload="), "inline handler")
            }
        }
    }

    @Test func globalPrivacyControlIsAcknowledged() async throws {
        try await withPictor { app in
            let tester = try app.testing()
            try await tester.test(.GET, SiteURL.doNotSell.path, headers: ["Sec-GPC": "1"]) { res in
                #expect(res.text.contains("Your browser sends a Global Privacy Control signal"))
            }
            try await tester.test(.GET, SiteURL.doNotSell.path) { res in
                #expect(!res.text.contains("Your browser sends a Global Privacy Control signal"))
            }
        }
    }

    @Test func privacyPageIsGeneratedFromTheInventory() async throws {
        try await withPictor { app in
            try await app.testing().test(.GET, SiteURL.privacy.path) { res in
                for entry in DataInventory.pictor.personalColumns {
                    #expect(res.text.contains("<code>\(entry.table).\(entry.column)</code>"))
                }
                #expect(res.text.contains("<td>user.contact.email</td>"))
                #expect(!res.text.contains("_fluent_migrations"), "operational tables are not personal data")
                #expect(!res.text.contains("does not store personal data yet"))
            }
        }
    }

    @Test func theInventoryIsPublishedAsDataWithItsErasureRules() async throws {
        try await withPictor { app in
            let page = try await app.testing().sendRequest(.GET, SiteURL.privacy.path)
            #expect(page.text.contains(#"<a href="/privacy/inventory.json">"#))
            let response = try await app.testing().sendRequest(.GET, SiteURL.privacyInventory.path)
            #expect(response.status == .ok && response.headers.contentType == .json)
            let inventory = try JSONDecoder().decode(InventoryJSON.Inventory.self, from: Data(response.body.readableBytesView))
            #expect(inventory.tables.map(\.name) == DataInventory.pictor.tables.map(\.table).sorted())
            for table in DataInventory.pictor.tables {
                let published = try #require(inventory.tables.first { $0.name == table.table })
                #expect(Set(published.columns.map(\.name)) == Set(table.columns.keys), "\(table.table)")
                #expect(published.owner == table.owner && published.purpose == table.purpose)
            }
            let orders = try #require(inventory.tables.first { $0.name == "orders" })
            let fingerprint = try #require(orders.columns.first { $0.name == "card_fingerprint" })
            #expect(fingerprint.erasure == "set null" && fingerprint.retentionDays == 7 * 365)
            let amount = try #require(orders.columns.first { $0.name == "amount_minor" })
            #expect(amount.erasure == "keep" && amount.keptBecause == "payment records kept for the tax period")
            let password = try #require(inventory.tables.first { $0.name == "users" }?.columns.first { $0.name == "password_hash" })
            #expect(!password.exported && password.erasure == "delete row")
        }
    }

    @Test func everySiteURLIsDistinct() {
        let paths = SiteURL.allCases.map(\.path)
        #expect(Set(paths).count == paths.count)
    }
}

@Suite struct HomePageTests {
    @Test func theLandingPageSaysWhatEachModelCosts() async throws {
        try await withPictor { app in
            app.pictor = app.pictor.with(models: scriptedCatalog(ScriptedProvider(), price: 3))
            let html = try await app.testing().sendRequest(.GET, "/").body.string
            #expect(html.contains("<td>Scripted test provider</td><td>3 credits per image</td>"))
            #expect(html.contains("<td>Built-in preview engine (no AI model)</td><td>1 credit per image</td>"))
            #expect(html.contains(#"href="/signup""#))
        }
    }
}

import Domain
import Foundation
import Persistence
import Providers
import Testing
import Vapor
import VaporTesting

@testable import App

/// Every number a request carries (path, query, form, JSON, headers, cursors) at the values that
/// make Swift trap when used unchecked: each answer is a 4xx (or the page, with the number
/// ignored), never a crash. A trap would end the test process itself, so reaching the end of
/// each test is the "server still alive" half of the check.
@Suite struct HostileNumbersTests {
    static let hostile = [
        "-9223372036854775808", "9223372036854775807", "9223372036854775808", "-1", "0", "-0", "+1",
        "1234567890123456789012345678901234567890", "-1234567890123456789012345678901234567890", "1e308", "nan",
    ]

    @Test func aSharedImagePositionIsCheckedBeforeArithmetic() async throws {
        try await withPictor { app in
            app.pictor = app.pictor.with(models: scriptedCatalog(ScriptedProvider(otherwise: [.deliver(side: 64)])))
            let browser = try await signedInForAPI(app, email: "numbers-share@example.com")
            let made = try await finishedGenerations(app, browser, prompts: ["a shared lighthouse"])[0]
            let page = "/generations/\(made.id.uuidString.lowercased())"
            try await browser.get(page)
            let created = try await browser.post(page + "/share", ["expires": "7"])
            let url = try #require(
                created.text.components(separatedBy: #"class="share-url" type="text" readonly value=""#).dropFirst().first?.prefix { $0 != "\"" })
            let path = String(url.dropFirst(app.pictor.config.publicBaseURL.absoluteString.trimmingSuffix("/").count))
            let visitor = Browser(app)
            for value in Self.hostile {
                let response = try await visitor.get(path + "/images/" + value)
                #expect(response.status == .notFound, "position \(value)")
            }
            #expect(try await visitor.get(path + "/images/1").status == .ok)
        }
    }

    @Test func listCursorsLimitsAndDaysOutOfRangeAreClearErrors() async throws {
        try await withPictor { app in
            let browser = try await signedInForAPI(app, email: "numbers-lists@example.com")
            let id = UUID().uuidString.lowercased()
            for value in Self.hostile {
                let escaped = value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? value
                for path in ["/api/v1/generations", "/api/v1/reference-images", "/api/v1/ledger"] {
                    let limit = try await browser.api(.GET, "\(path)?limit=\(escaped)")
                    #expect(limit.status == .ok, "\(path) limit \(value)")
                    let cursor = try await browser.api(.GET, "\(path)?cursor=\(escaped).\(id)")
                    #expect([.ok, .badRequest, .unprocessableEntity].contains(cursor.status), "\(path) cursor \(value): \(cursor.status)")
                }
                let after = try await browser.get("/gallery?after=\(escaped).\(id)")
                #expect(after.status.code < 500, "gallery after \(value): \(after.status)")
                let ledger = try await browser.get("/billing?after=\(escaped).\(id)")
                #expect(ledger.status == .ok, "billing after \(value): \(ledger.status)")
                for query in ["from=\(escaped)-01-01", "to=2026-01-\(escaped)", "from=2026-\(escaped)-01", "to=\(escaped)"] {
                    let day = try await browser.get("/gallery?" + query)
                    #expect(day.status.code < 500, "gallery \(query): \(day.status)")
                }
            }
            // A cursor at the far end of what a database can hold still answers (PostgreSQL
            // converts times to microseconds from 2000 in an Int64).
            #expect(try await browser.api(.GET, "/api/v1/generations?cursor=253402300799999.\(id)").status == .ok)
            #expect(try await browser.api(.GET, "/api/v1/generations?cursor=253402300800000.\(id)").status == .badRequest)
        }
    }

    @Test func generationNumbersInJSONAndFormsAreFieldErrors() async throws {
        try await withPictor { app in
            let browser = try await signedInForAPI(app, email: "numbers-submit@example.com")
            for value in Self.hostile {
                let quoted = "\"\(value)\""
                let sizes = ["\(value)x512", "512x\(value)", "\(value)x\(value)"]
                for size in sizes {
                    let response = try await browser.generate(#"{"prompt":"a cat","size":"\#(size)"}"#)
                    #expect([.badRequest, .unprocessableEntity].contains(response.status), "size \(size): \(response.status)")
                }
                for field in ["count", "seed"] {
                    for literal in [value, quoted] where literal != "nan" && literal != "+1" {
                        let response = try await browser.generate(#"{"prompt":"a cat","size":"512x512","\#(field)":\#(literal)}"#)
                        #expect(response.status.code < 500, "\(field) \(literal): \(response.status)")
                    }
                }
                let idempotent = try await browser.generate(#"{"prompt":"a cat","size":"512x512"}"#, idempotencyKey: value)
                #expect(idempotent.status.code < 500, "Idempotency-Key \(value)")

                try await browser.get("/studio")
                let form = try await browser.post(
                    "/studio",
                    [
                        "prompt": "a dog", "size": "\(value)x\(value)", "count": value, "seed": value,
                    ])
                #expect(form.status == .badRequest, "studio form \(value): \(form.status)")
            }
        }
    }

    @Test func rangeHeadersWithHugeNumbersAreRefusedOrIgnored() async throws {
        try await withPictor { app in
            let browser = Browser(app)
            for value in Self.hostile {
                for range in ["bytes=\(value)-", "bytes=-\(value)", "bytes=0-\(value)", "bytes=\(value)-\(value)"] {
                    let response = try await browser.get("/css/pictor.css", headers: ["Range": range])
                    #expect(response.status.code < 500, "Range \(range): \(response.status)")
                }
            }
        }
    }
}

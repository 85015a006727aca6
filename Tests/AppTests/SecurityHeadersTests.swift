import Foundation
import Testing
import VaporTesting

@testable import App

@Suite struct SecurityHeadersTests {
    static let paths = ["/", "/privacy", "/css/pictor.css", "/does-not-exist", "/healthz"]

    @Test(arguments: paths)
    func everyResponseCarriesTheHeaders(_ path: String) async throws {
        try await withPictor { app in
            try await app.testing().test(.GET, path) { res in
                let csp = try #require(res.headers.first(name: "Content-Security-Policy"))
                #expect(csp.contains("script-src 'self'"))
                #expect(!csp.contains("unsafe-inline"))
                #expect(csp.contains("frame-ancestors 'none'"))
                #expect(res.headers.first(name: "X-Content-Type-Options") == "nosniff")
                #expect(res.headers.first(name: "Referrer-Policy") == "same-origin")
                #expect(res.headers.first(name: "X-Frame-Options") == "DENY")
                #expect(res.headers.first(name: "Strict-Transport-Security") == nil, "plain http: no HSTS")
                #expect(res.headers.first(name: "X-Request-ID")?.isEmpty == false)
            }
        }
    }

    /// Pages and API answers are never cached (some show a secret once: recovery codes, a new
    /// API key); files say for themselves.
    @Test func pagesAndAnswersAreNotCachedButFilesMayBe() async throws {
        try await withPictor { app in
            let browser = try await Accounts.signedIn(app, email: "cached@example.com")
            try await browser.get("/account/security")
            let codes = try await browser.post("/account/two-factor/setup")
            #expect(codes.status == .ok && codes.headers.first(name: .cacheControl) == "no-store")
            #expect(try await browser.get("/account").headers.first(name: .cacheControl) == "no-store")
            #expect(try await browser.get("/healthz").headers.first(name: .cacheControl) == "no-store")
            #expect(try await browser.get("/css/pictor.css").headers.first(name: .cacheControl) != "no-store")
        }
    }

    @Test func hstsWhenServedOverTLS() async throws {
        try await withPictor({ $0.publicBaseURL = URL(string: "https://pictor.example")! }) { app in
            try await app.testing().test(.GET, "/") { res in
                #expect(res.headers.first(name: "Strict-Transport-Security") == "max-age=63072000; includeSubDomains")
            }
        }
    }

    @Test func callerRequestIDIsKeptOnlyWhenSafe() async throws {
        try await withPictor { app in
            let tester = try app.testing()
            try await tester.test(.GET, "/healthz", headers: ["X-Request-ID": "abc-123_x.y"]) {
                #expect($0.headers.first(name: "X-Request-ID") == "abc-123_x.y")
            }
            try await tester.test(.GET, "/healthz", headers: ["X-Request-ID": "evil\"id<script>"]) {
                let id = $0.headers.first(name: "X-Request-ID") ?? ""
                #expect(id != "evil\"id<script>" && !id.isEmpty)
            }
        }
    }
}

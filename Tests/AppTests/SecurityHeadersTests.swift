@testable import App
import Foundation
import Testing
import VaporTesting

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

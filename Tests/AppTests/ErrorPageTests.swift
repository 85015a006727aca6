import Domain
import Testing
import Vapor
import VaporTesting

@testable import App

@Suite struct ErrorPageTests {
    struct LeakyFailure: Error { let detail = "password=hunter2 at db.internal" }
    struct BadPrompt: UserFacingError {
        var kind: FailureKind { .invalidInput }
        var userMessage: String { "The prompt needs some words." }
        var fieldErrors: [FieldError] { [FieldError(field: "prompt", message: "Write a prompt of 1 to 1000 characters.")] }
    }

    static func failingRoutes(_ app: Application) throws {
        app.get("test-failures", "crash") { _ -> String in throw LeakyFailure() }
        app.get("test-failures", "forbidden") { _ -> String in throw AccessError.forbidden }
        app.get("api", "test-failures", "invalid") { _ -> String in throw BadPrompt() }
    }

    @Test func unknownPageIsAFriendly404Page() async throws {
        try await withPictor { app in
            try await app.testing().test(.GET, "/nothing-here", headers: ["Accept": "text/html"]) { res in
                #expect(res.status == .notFound)
                #expect(res.headers.contentType?.description.hasPrefix("text/html") == true)
                #expect(res.text.contains("<h1 id=\"error-heading\">Page not found</h1>"))
                #expect(res.text.contains("We could not find that page."))
                #expect(res.text.contains("href=\"/privacy\""), "the layout, footer included, is there")
            }
        }
    }

    @Test func serverFaultShowsReferenceNotDetail() async throws {
        try await withPictor(routes: Self.failingRoutes) { app in
            try await app.testing().test(.GET, "/test-failures/crash") { res in
                #expect(res.status == .internalServerError)
                #expect(res.text.contains("Something went wrong"))
                #expect(!res.text.contains("hunter2"))
                let id = try #require(res.headers.first(name: "X-Request-ID"))
                #expect(res.text.contains(id), "the page shows the reference that is in the log")
            }
        }
    }

    @Test func typedAccessErrorBecomes403Page() async throws {
        try await withPictor(routes: Self.failingRoutes) { app in
            try await app.testing().test(.GET, "/test-failures/forbidden") { res in
                #expect(res.status == .forbidden)
                #expect(res.text.contains("Not allowed"))
                #expect(res.text.contains("You do not have permission to do that."))
            }
        }
    }

    @Test func apiErrorsAreProblemDetailsWithFieldMessages() async throws {
        try await withPictor(routes: Self.failingRoutes) { app in
            try await app.testing().test(.GET, "/api/test-failures/invalid") { res in
                #expect(res.status == .badRequest)
                #expect(res.headers.first(name: .contentType) == "application/problem+json")
                let problem = try JSONDecoder().decode(Problem.self, from: Data(res.text.utf8))
                #expect(problem.status == 400)
                #expect(problem.title == "Bad Request")
                #expect(problem.detail == "The prompt needs some words.")
                #expect(problem.errors?.first?.field == "prompt")
                #expect(problem.requestID == res.headers.first(name: "X-Request-ID"))
            }
            try await app.testing().test(.GET, "/nowhere", headers: ["Accept": "application/json"]) { res in
                #expect(res.status == .notFound)
                #expect(res.headers.first(name: .contentType) == "application/problem+json")
            }
        }
    }
}

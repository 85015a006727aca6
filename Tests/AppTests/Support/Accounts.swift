@testable import App
import Fluent
import Foundation
import Mail
import Persistence
import Testing
import Vapor
import VaporTesting

/// Account helpers: sign up through the pages and read the code from the outbox.
enum Accounts {
    static let password = "violet-harbour-lantern"

    /// The newest six-digit code mailed to `email`.
    static func mailedCode(to email: String, app: Application) async throws -> String? {
        for message in try await mails(to: email, app: app) {
            if let match = message.text.firstMatch(of: /code is: (\d{6})/) { return String(match.1) }
        }
        return nil
    }

    /// The messages queued for `email`, newest first, unsealed.
    static func mails(to email: String, app: Application) async throws -> [MailMessage] {
        try await MailOutboxModel.query(on: app.db).filter(\.$recipient == email).sort(\.$createdAt, .descending).all()
            .map { try Postman.message(in: $0, secrets: app.pictor.secrets) }
    }

    static func signUp(_ browser: Browser, email: String, password: String = password, birthDate: String = "1990-04-12") async throws -> TestingHTTPResponse {
        try await browser.get("/signup")
        return try await browser.post("/signup", ["email": email, "password": password, "birthDate": birthDate, "acceptTerms": "on"])
    }

    /// Signs up, confirms the email with the mailed code, and signs in.
    static func signedIn(_ app: Application, email: String, remember: Bool = false) async throws -> Browser {
        let browser = Browser(app)
        try await signUp(browser, email: email)
        let code = try #require(try await mailedCode(to: email, app: app))
        try await browser.get("/verify-email?email=\(email)")
        let verified = try await browser.post("/verify-email", ["email": email, "code": code])
        #expect(verified.location == "/login?confirmed=1")
        try await browser.get("/login")
        var fields = ["email": email, "password": password]
        if remember { fields["remember"] = "on" }
        let signedIn = try await browser.post("/login", fields)
        #expect(signedIn.status == .seeOther && signedIn.location == "/account")
        return browser
    }
}

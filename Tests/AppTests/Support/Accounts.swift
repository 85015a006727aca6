import Fluent
import Foundation
import Mail
import Persistence
import SQLKit
import Testing
import Vapor
import VaporTesting

@testable import App

/// Account helpers: sign up through the pages and read the code from the outbox.
enum Accounts {
    static let password = "violet-harbour-lantern"

    /// The newest six-digit code mailed to `email` (once the reset codes asked for are issued).
    static func mailedCode(to email: String, app: Application) async throws -> String? {
        try await issueRequestedResetCodes(app)
        for message in try await mails(to: email, app: app) {
            if let match = message.text.firstMatch(of: /code is: (\d{6})/) { return String(match.1) }
        }
        return nil
    }

    /// Does what the workers would do with the forgotten-password page's jobs (the tests run no
    /// workers): issues each code, and marks its job done.
    static func issueRequestedResetCodes(_ app: Application) async throws {
        let pending = try await sqlDatabase(app.db).raw(
            """
            SELECT id, kind, payload FROM jobs WHERE kind IN (\(bind: MailedCodeHandler.Code.resetPassword.rawValue), \(bind: MailedCodeHandler.Code.signIn.rawValue)) AND state = 'queued'
            """
        ).all()
        for row in pending {
            let payload = try JSONDecoder().decode(
                MailedCodeHandler.Payload.self, from: Data(try row.decode(column: "payload", as: String.self).utf8))
            let code = try #require(MailedCodeHandler.Code(rawValue: try row.decode(column: "kind", as: String.self)))
            try await MailedCodeHandler.issue(code, for: payload.userID, app: app, on: app.db)
            try await sqlDatabase(app.db).raw("UPDATE jobs SET state = 'succeeded' WHERE id = \(bind: try row.decode(column: "id", as: UUID.self))")
                .run()
        }
    }

    /// Six wrong passwords for `email` from one browser (returned): the account's sign-in is
    /// paused (locked), the network's is not.
    static func pauseSignIn(_ app: Application, email: String) async throws -> Browser {
        let guesser = Browser(app)
        for _ in 0..<6 {
            try await guesser.get("/login")
            try await guesser.post("/login", ["email": email, "password": "guess-guess-guess"])
        }
        return guesser
    }

    /// The messages queued for `email`, newest first, unsealed.
    static func mails(to email: String, app: Application) async throws -> [MailMessage] {
        try await MailOutboxModel.query(on: app.db).filter(\.$recipient == email).sort(\.$createdAt, .descending).all()
            .map { try Postman.message(in: $0, secrets: app.pictor.secrets) }
    }

    static func signUp(_ browser: Browser, email: String, password: String = password, birthDate: String = "1990-04-12") async throws
        -> TestingHTTPResponse
    {
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

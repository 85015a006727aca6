import Domain
import Fluent
import Persistence
import Vapor

/// Issues and mails a one-time code that a page asked for without being allowed to tell whether
/// the address has an account: a password-reset code (the forgotten-password page) or a sign-in
/// code (a paused sign-in given the right password). The request enqueues one job either way, its
/// payload naming the account or nobody, so both answers take the same work; the code, its mail
/// and the job's completion then commit together. At most one code a minute per account and
/// purpose; none for an account that is not active, and no sign-in code for an account with
/// two-factor (its second factor is the proof).
struct MailedCodeHandler: JobHandler {
    enum Code: String, CaseIterable {
        case resetPassword = "account.reset_code"
        case signIn = "account.sign_in_code"

        var purpose: OneTimeCodes.Purpose {
            switch self {
            case .resetPassword: .resetPassword
            case .signIn: .signIn
            }
        }
    }

    struct Payload: Codable {
        let userID: UUID?
    }

    let code: Code
    var kind: String { code.rawValue }

    /// The job a request enqueues: `userID` nil when the address has no account (or the password was wrong).
    static func job(_ code: Code, for userID: UUID?) throws -> NewJob {
        NewJob(kind: code.rawValue, payload: String(decoding: try JSONEncoder().encode(Payload(userID: userID)), as: UTF8.self), maxAttempts: 5)
    }

    func run(_ job: ClaimedJob, context: JobContext) async throws {
        let app = context.application
        guard let payload = try? JSONDecoder().decode(Payload.self, from: Data(job.payload.utf8)) else {
            throw JobFailure.permanent("unreadable \(kind) payload")
        }
        try await app.db.transaction { tx in
            try await Self.issue(code, for: payload.userID, app: app, on: tx)
            _ = try await context.complete(on: tx)
        }
    }

    static func issue(_ code: Code, for userID: UUID?, app: Application, on db: any Database) async throws {
        guard let userID, let user = try await UserStore.find(userID, on: db), user.status == .active,
            code != .signIn || user.totpEnabledAt == nil,
            try await !OneTimeCodes.issuedRecently(code.purpose, for: userID, now: app.pictor.clock.now(), on: db)
        else { return }
        let issued = try await OneTimeCodes.issue(code.purpose, for: userID, now: app.pictor.clock.now(), secrets: app.pictor.secrets, on: db)
        let base = app.pictor.config.publicBaseURL.absoluteString
        let message =
            switch code {
            case .resetPassword: AccountMail.resetPassword(to: user.email, code: issued, base: base)
            case .signIn: AccountMail.signInCode(to: user.email, code: issued, base: base)
            }
        try await Postman.queue(message, userID: userID, app: app, on: db)
    }
}

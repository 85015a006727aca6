import Domain
import Fluent
import SQLKit
import Persistence
import Vapor

/// Single-use six-digit codes for email confirmation and password reset: valid one hour,
/// five guesses each, stored as an HMAC under the server key.
enum OneTimeCodes {
    enum Purpose: String {
        case verifyEmail = "verify_email"
        case resetPassword = "reset_password"
        case changeEmail = "change_email"
    }

    static let lifetime: TimeInterval = 3600
    static let maxAttempts = 5

    /// Makes a new code (earlier unused codes of the same purpose stop working) and returns it.
    static func issue(_ purpose: Purpose, for userID: UUID, target: String? = nil, secrets: Secrets, on db: any Database) async throws -> String {
        let now = Date()
        try await void(purpose, for: userID, on: db)
        let code = Tokens.sixDigits()
        let row = OneTimeCodeModel()
        row.userID = userID
        row.purpose = purpose.rawValue
        row.codeHash = hash(code, purpose: purpose, userID: userID, secrets: secrets)
        row.expiresAt = now.addingTimeInterval(lifetime)
        row.attempts = 0
        row.createdAt = now
        row.target = target
        try await row.create(on: db)
        return code
    }

    /// Whether a code for this purpose was sent in the last minute (then another is not sent).
    /// Voids the user's unused codes of `purpose` (an address change voids reset codes mailed
    /// to the old address).
    static func void(_ purpose: Purpose, for userID: UUID, on db: any Database) async throws {
        try await OneTimeCodeModel.query(on: db)
            .filter(\.$userID == userID).filter(\.$purpose == purpose.rawValue).filter(\.$usedAt == nil)
            .set(\.$usedAt, to: Date())
            .update()
    }

    static func issuedRecently(_ purpose: Purpose, for userID: UUID, on db: any Database) async throws -> Bool {
        try await OneTimeCodeModel.query(on: db)
            .filter(\.$userID == userID).filter(\.$purpose == purpose.rawValue)
            .filter(\.$createdAt > Date().addingTimeInterval(-60)).count() > 0
    }

    /// Uses up the code if it is right, unexpired and unused. A wrong guess counts against
    /// the live code; after five, it stops working.
    static func redeem(_ purpose: Purpose, code: String, for userID: UUID, secrets: Secrets, on db: any Database) async throws -> Bool {
        try await redeemTarget(purpose, code: code, for: userID, secrets: secrets, on: db) != nil
    }

    /// Like `redeem`, returning the code's target ("" when it has none), or nil when the code is refused.
    static func redeemTarget(_ purpose: Purpose, code: String, for userID: UUID, secrets: Secrets, on db: any Database) async throws -> String? {
        let now = Date()
        guard let live = try await OneTimeCodeModel.query(on: db)
            .filter(\.$userID == userID).filter(\.$purpose == purpose.rawValue).filter(\.$usedAt == nil)
            .filter(\.$expiresAt > now)
            .sort(\.$createdAt, .descending)
            .first()
        else { return nil }
        // Guesses are counted per account across codes (asking for a new code gives no new
        // guesses), and each guess is counted atomically before it is compared, so parallel
        // guesses cannot share one count.
        let throttle = ["codes:" + userID.uuidString]
        guard try await LoginThrottle.begin(keys: throttle, policy: .standard, now: now, on: db) == 0 else { return nil }
        let sql = try sqlDatabase(db)
        guard try await sql.raw("""
            UPDATE one_time_codes SET attempts = attempts + 1
            WHERE id = \(bind: live.id!) AND attempts < \(bind: maxAttempts) AND used_at IS NULL
            RETURNING id
            """).first() != nil
        else { return nil }
        let presented = hash(code.trimmingCharacters(in: .whitespaces), purpose: purpose, userID: userID, secrets: secrets)
        guard constantTimeEquals(Array(presented.utf8), Array(live.codeHash.utf8)) else {
            _ = try await LoginThrottle.fail(keys: throttle, policy: .standard, now: now, on: db)
            return nil
        }
        guard try await sql.raw("""
            UPDATE one_time_codes SET used_at = \(bind: now) WHERE id = \(bind: live.id!) AND used_at IS NULL RETURNING id
            """).first() != nil
        else { return nil }
        try await LoginThrottle.succeed(keys: throttle, on: db)
        return live.target ?? ""
    }

    private static func hash(_ code: String, purpose: Purpose, userID: UUID, secrets: Secrets) -> String {
        secrets.mac("one-time-code", purpose.rawValue, userID.uuidString, code)
    }
}

/// Failed sign-ins per account (keyed by an HMAC of the email, whether or not it is
/// registered, so a lock says nothing about existence) and per network.
///
/// Every attempt is counted before its password or code is checked (`begin`), one statement per
/// key, and refused when the count before it already called for a lock: attempts sent all at once
/// get one count each, so no more of them are checked than one by one. A failure then sets the
/// lock its count calls for (`fail`); a success clears the account's count and takes its attempt
/// back from the network's (`succeed`).
enum LoginThrottle {
    static func keys(email: String, request: Request) -> [String] {
        ["account:" + request.pictor.secrets.mac("login", email), "network:" + request.ipPrefix]
    }

    /// Starts an attempt: seconds to wait (the attempt is refused, and not checked), or 0.
    static func begin(keys: [String], policy: LoginThrottlePolicy, now: Date, on db: any Database) async throws -> Int {
        var longest: TimeInterval = 0
        for key in keys {
            if let until = try await LoginThrottleStore.lockedUntil(key, on: db) { longest = max(longest, until.timeIntervalSince(now)) }
        }
        if longest > 0 { return Int(longest.rounded(.up)) }
        for key in keys {
            let count = try await LoginThrottleStore.countAttempt(key, now: now, on: db)
            longest = max(longest, lock(for: key, failures: count - 1, policy: policy))
        }
        return Int(longest.rounded(.up))
    }

    /// The attempt failed: locks each key whose count calls for it; true when one was locked.
    static func fail(keys: [String], policy: LoginThrottlePolicy, now: Date, on db: any Database) async throws -> Bool {
        var locked = false
        for key in keys {
            let failures = try await LoginThrottleModel.find(key, on: db)?.failures ?? 0
            let seconds = lock(for: key, failures: failures, policy: policy)
            if seconds > 0 {
                try await LoginThrottleStore.lock(key, until: now.addingTimeInterval(seconds), on: db)
                locked = true
            }
        }
        return locked
    }

    /// A success clears the account's count, not the network's (signing in to one's own account
    /// must not reset the count of guesses made at others from the same network): the network
    /// only gets this attempt back.
    static func succeed(keys: [String], on db: any Database) async throws {
        try await LoginThrottleStore.clear(keys.filter { !$0.hasPrefix("network:") }, on: db)
        for key in keys where key.hasPrefix("network:") { try await LoginThrottleStore.takeBackAttempt(key, on: db) }
    }

    /// The lock `failures` call for; the network count allows more, as several people may share one.
    private static func lock(for key: String, failures: Int, policy: LoginThrottlePolicy) -> TimeInterval {
        policy.lock(afterFailures: key.hasPrefix("network:") ? failures / 4 : failures)
    }
}

extension UserModel {
    /// A new active account that accepted the current Terms and Privacy Policy versions now.
    static func new(email: String, passwordHash: String, role: CurrentUser.Role, config: AppConfig) -> UserModel {
        let now = Date()
        let user = UserModel()
        user.id = UUID()
        user.email = email
        user.passwordHash = passwordHash
        user.role = role.rawValue
        user.status = "active"
        user.termsVersion = config.termsVersion
        user.privacyVersion = config.privacyVersion
        user.termsAcceptedAt = now
        user.createdAt = now
        user.updatedAt = now
        return user
    }
}

import Domain
import Fluent
import Persistence
import Vapor

/// Single-use six-digit codes for email confirmation and password reset: valid one hour,
/// five guesses each, stored as an HMAC under the server key.
enum OneTimeCodes {
    typealias Purpose = CodePurpose

    static let lifetime: TimeInterval = 3600
    static let maxAttempts = 5

    /// Makes a new code (earlier unused codes of the same purpose stop working) and returns it.
    static func issue(
        _ purpose: Purpose, for userID: UUID, target: String? = nil, now: Date, secrets: Secrets, on db: any Database
    ) async throws -> String {
        try await void(purpose, for: userID, now: now, on: db)
        let code = Tokens.sixDigits()
        let row = OneTimeCodeModel()
        row.userID = userID
        row.purpose = purpose
        row.codeHash = hash(code, purpose: purpose, userID: userID, secrets: secrets)
        row.expiresAt = now.addingTimeInterval(lifetime)
        row.attempts = 0
        row.createdAt = now
        row.target = target
        try await OneTimeCodeStore.insert(row, on: db)
        return code
    }

    /// Voids the user's unused codes of `purpose` (an address change voids reset codes mailed
    /// to the old address).
    static func void(_ purpose: Purpose, for userID: UUID, now: Date, on db: any Database) async throws {
        try await OneTimeCodeStore.void(purpose, for: userID, now: now, on: db)
    }

    /// Whether a code for this purpose was sent in the last minute (then another is not sent).
    static func issuedRecently(_ purpose: Purpose, for userID: UUID, now: Date, on db: any Database) async throws -> Bool {
        try await OneTimeCodeStore.issued(purpose, for: userID, since: now.addingTimeInterval(-60), on: db)
    }

    /// Uses up the code if it is right, unexpired and unused. A wrong guess counts against
    /// the live code; after five, it stops working.
    static func redeem(_ purpose: Purpose, code: String, for userID: UUID, now: Date, secrets: Secrets, on db: any Database) async throws -> Bool {
        try await redeemTarget(purpose, code: code, for: userID, now: now, secrets: secrets, on: db) != nil
    }

    /// Like `redeem`, returning the code's target ("" when it has none), or nil when the code is refused.
    /// The same statements run whether or not a code exists (a decoy's look-up takes as long as a
    /// wrong guess at a real code).
    static func redeemTarget(
        _ purpose: Purpose, code: String, for userID: UUID, now: Date, secrets: Secrets, on db: any Database
    ) async throws -> String? {
        let live = try await OneTimeCodeStore.live(purpose, for: userID, now: now, on: db)
        // Guesses are counted per account and purpose across codes (asking for a new code gives no
        // new guesses; guessing at reset codes does not lock the sign-in codes), and each guess is
        // counted atomically before it is compared, so parallel guesses cannot share one count.
        guard
            case .go(let attempt) = try await LoginThrottle.begin(
                keys: ["codes:" + purpose.rawValue + ":" + userID.uuidString], policy: .standard, now: now, on: db)
        else { return nil }
        let counted = try await OneTimeCodeStore.countGuess(at: live?.id, maxAttempts: maxAttempts, on: db)
        let presented = hash(code.trimmingCharacters(in: .whitespaces), purpose: purpose, userID: userID, secrets: secrets)
        guard let live, counted, constantTimeEquals(Array(presented.utf8), Array(live.codeHash.utf8)) else {
            _ = try await LoginThrottle.fail(attempt, policy: .standard, on: db)
            return nil
        }
        guard try await OneTimeCodeStore.use(live.id!, now: now, on: db) else { return nil }
        try await LoginThrottle.succeed(attempt, on: db)
        return live.target ?? ""
    }

    private static func hash(_ code: String, purpose: Purpose, userID: UUID, secrets: Secrets) -> String {
        secrets.mac("one-time-code", purpose.rawValue, userID.uuidString, code)
    }
}

/// Failed sign-ins per account (keyed by an HMAC of the email, whether or not it is
/// registered, so a lock says nothing about existence) and per network.
///
/// `begin` refuses an attempt while a lock is in force (counting nothing). Otherwise it counts the
/// attempt before its password or code is checked, one statement per key, so attempts sent all at
/// once get one count each; one whose earlier attempts already call for a lock goes ahead only as
/// the single attempt let through once that lock has run out. A failure then sets the lock its
/// count calls for (`fail`); a success clears the account's count and takes its attempt back from
/// the network's (`succeed`).
enum LoginThrottle {
    /// An attempt `begin` let through.
    struct Attempt {
        let keys: [String]
        let now: Date
        /// Locks this attempt set when it was let through after one ran out.
        var claimed: [String: Date] = [:]
    }

    enum Start {
        case go(Attempt)
        case wait(seconds: Int)
    }

    static func keys(email: String, request: Request) -> [String] {
        [accountKey(email: email, request: request), networkKey(request)]
    }

    /// The key a password sign-in counts against for the account (an HMAC of the email, so it
    /// exists for unknown addresses too).
    static func accountKey(email: String, request: Request) -> String {
        "account:" + request.pictor.secrets.mac("login", email)
    }

    /// The key every sign-in step counts against for the client's network.
    static func networkKey(_ request: Request) -> String {
        "network:" + request.ipPrefix
    }

    /// The key second-factor codes count against, at sign-in and at re-authentication alike.
    static func mfaKey(userID: UUID, request: Request) -> String {
        "mfa:" + request.pictor.secrets.mac("mfa", userID.uuidString)
    }

    static func begin(keys: [String], policy: LoginThrottlePolicy, now: Date, on db: any Database) async throws -> Start {
        var longest: TimeInterval = 0
        for key in keys {
            if let until = try await LoginThrottleStore.lockedUntil(key, on: db) { longest = max(longest, until.timeIntervalSince(now)) }
        }
        if longest > 0 { return .wait(seconds: Int(longest.rounded(.up))) }
        var attempt = Attempt(keys: keys, now: now)
        var counted: [String] = []
        for key in keys {
            let count = try await LoginThrottleStore.countAttempt(key, now: now, on: db)
            counted.append(key)
            let owed = lock(for: key, failures: count - 1, policy: policy)
            guard owed > 0 else { continue }
            // The attempts before this one call for a lock. Once it has run out, one attempt goes
            // ahead (setting the lock it would earn by failing too); while it is not written yet
            // (attempts sent together, the earlier ones still being checked), none does.
            let next = now.addingTimeInterval(lock(for: key, failures: count, policy: policy))
            if try await LoginThrottleStore.claimExpiredLock(key, until: next, now: now, on: db) {
                attempt.claimed[key] = next
                continue
            }
            try await LoginThrottleStore.lockIfUnlocked(key, until: now.addingTimeInterval(owed), on: db)
            try await abandon(attempt, counted: counted, on: db)
            let until = try await LoginThrottleStore.lockedUntil(key, on: db) ?? now.addingTimeInterval(owed)
            return .wait(seconds: max(1, Int(until.timeIntervalSince(now).rounded(.up))))
        }
        return .go(attempt)
    }

    /// The attempt failed: locks each key whose count calls for it; true when one was locked.
    static func fail(_ attempt: Attempt, policy: LoginThrottlePolicy, on db: any Database) async throws -> Bool {
        var locked = false
        for key in attempt.keys {
            let failures = try await LoginThrottleStore.failures(key, on: db)
            let seconds = lock(for: key, failures: failures, policy: policy)
            if seconds > 0 {
                try await LoginThrottleStore.lock(key, until: attempt.now.addingTimeInterval(seconds), on: db)
                locked = true
            }
        }
        return locked
    }

    /// A success clears the account's count, not the network's (signing in to one's own account
    /// must not reset the count of guesses made at others from the same network): the network
    /// only gets this attempt back, and any lock this attempt set on it when let through.
    static func succeed(_ attempt: Attempt, on db: any Database) async throws {
        try await LoginThrottleStore.clear(attempt.keys.filter { !$0.hasPrefix("network:") }, on: db)
        try await abandon(attempt, counted: attempt.keys.filter { $0.hasPrefix("network:") }, on: db)
    }

    /// Takes back an attempt's counts on `counted` and the locks it claimed there.
    private static func abandon(_ attempt: Attempt, counted: [String], on db: any Database) async throws {
        for key in counted {
            if let claimed = attempt.claimed[key] {
                try await LoginThrottleStore.releaseClaim(key, claimed: claimed, now: attempt.now, on: db)
            }
            try await LoginThrottleStore.takeBackAttempt(key, now: attempt.now, on: db)
        }
    }

    /// The lock `failures` call for; the network count allows more, as several people may share one.
    private static func lock(for key: String, failures: Int, policy: LoginThrottlePolicy) -> TimeInterval {
        policy.lock(afterFailures: key.hasPrefix("network:") ? failures / 4 : failures)
    }
}

extension UserModel {
    /// A new active account that accepted the current Terms and Privacy Policy versions now.
    static func new(email: String, passwordHash: String, role: AccountRole, now: Date, config: AppConfig) -> UserModel {
        let user = UserModel()
        user.id = UUID()
        user.email = email
        user.passwordHash = passwordHash
        user.role = role
        user.status = .active
        user.termsVersion = config.termsVersion
        user.privacyVersion = config.privacyVersion
        user.termsAcceptedAt = now
        user.createdAt = now
        user.updatedAt = now
        return user
    }
}

import Domain
import Fluent
import Persistence
import Vapor

/// TOTP enrolment and checks, and recovery codes.
enum TwoFactor {
    static let purpose = "totp-secret"
    static let recoveryCodeCount = 10

    /// Starts (or restarts) enrolment: a new seed, stored sealed, not yet required at sign-in.
    static func beginEnrolment(_ user: UserModel, now: Date, secrets: Secrets, on db: any Database) async throws -> TOTP {
        let totp = TOTP(secret: TOTP.generateSecret())
        user.totpSecret = try secrets.seal(totp.secret, purpose: purpose)
        user.totpEnabledAt = nil
        user.totpLastStep = nil
        user.updatedAt = now
        try await UserStore.save(user, on: db)
        return totp
    }

    static func totp(for user: UserModel, secrets: Secrets) throws -> TOTP? {
        guard let sealed = user.totpSecret else { return nil }
        return TOTP(secret: try secrets.open(sealed, purpose: purpose))
    }

    /// Accepts a current authenticator code not used before, and remembers its step.
    static func acceptCode(_ code: String, for user: UserModel, now: Date, secrets: Secrets, on db: any Database) async throws -> Bool {
        guard let totp = try totp(for: user, secrets: secrets),
            let step = totp.matchingStep(for: code, at: now, lastUsedStep: user.totpLastStep),
            try await UserStore.claimTOTPStep(step, for: user.id!, now: now, on: db)
        else { return false }
        user.totpLastStep = step
        return true
    }

    /// Turns two-factor on after a first good code; returns the recovery codes, shown once.
    static func confirmEnrolment(_ user: UserModel, code: String, now: Date, secrets: Secrets, on db: any Database) async throws -> [String]? {
        guard user.totpEnabledAt == nil, try await acceptCode(code, for: user, now: now, secrets: secrets, on: db) else { return nil }
        user.totpEnabledAt = now
        try await UserStore.save(user, on: db)
        return try await replaceRecoveryCodes(for: user.id!, now: now, secrets: secrets, on: db)
    }

    static func disable(_ user: UserModel, now: Date, on db: any Database) async throws {
        user.totpSecret = nil
        user.totpEnabledAt = nil
        user.totpLastStep = nil
        user.updatedAt = now
        try await UserStore.save(user, on: db)
        try await RecoveryCodeStore.deleteAll(of: user.id!, on: db)
    }

    static func replaceRecoveryCodes(for userID: UUID, now: Date, secrets: Secrets, on db: any Database) async throws -> [String] {
        let codes = (0..<recoveryCodeCount).map { _ in
            let code = Tokens.readable(length: 10)
            return String(code.prefix(5) + "-" + code.dropFirst(5))
        }
        let hashes = codes.map { secrets.mac("recovery-code", userID.uuidString, normalise($0)) }
        try await RecoveryCodeStore.replace(for: userID, with: hashes, now: now, on: db)
        return codes
    }

    /// Uses up a recovery code if it is one of the user's unused ones (the same code sent twice
    /// at once works once).
    static func redeemRecoveryCode(_ code: String, for userID: UUID, now: Date, secrets: Secrets, on db: any Database) async throws -> Bool {
        let hash = secrets.mac("recovery-code", userID.uuidString, normalise(code))
        return try await RecoveryCodeStore.redeem(hash: hash, of: userID, now: now, on: db)
    }

    /// Either a TOTP code or a recovery code.
    static func verify(_ input: String, for user: UserModel, now: Date, secrets: Secrets, on db: any Database) async throws -> Bool {
        let trimmed = input.trimmingCharacters(in: .whitespaces)
        if trimmed.filter(\.isNumber).count == 6, trimmed.count <= 7 {
            return try await acceptCode(trimmed, for: user, now: now, secrets: secrets, on: db)
        }
        return try await redeemRecoveryCode(trimmed, for: user.id!, now: now, secrets: secrets, on: db)
    }

    private static func normalise(_ code: String) -> String {
        code.uppercased().filter { $0.isLetter || $0.isNumber }
    }
}

/// The short-lived proof, between password and second factor, that the password was right:
/// `userID.expiry.flags.next.nonce.mac` in an HttpOnly cookie, valid five minutes and once
/// (flags: `r` remember, `p` the account's sign-in is paused, so a mailed code works too).
/// The nonce's SHA-256 is kept on the account (`users.pending_sign_in`); the sign-in that uses it
/// clears it in one conditional statement, so the cookie cannot be used again, and a newer
/// password sign-in replaces it.
enum PendingSignIn {
    static let lifetime: TimeInterval = 300

    struct Pending {
        let userID: UUID
        let remember: Bool
        let next: String
        let nonce: String
        var paused = false

        /// What the account keeps of the nonce.
        var nonceHash: String { Tokens.sha256(nonce) }
    }

    /// A new pending sign-in for `userID`: stores its nonce's hash on the account and returns the
    /// cookie's value. `live: false` makes a decoy that works nowhere, with the same work and the
    /// same look (a wrong password while sign-in is paused must not be told from a right one).
    static func start(
        for userID: UUID, live: Bool = true, remember: Bool, paused: Bool = false, next: String, now: Date, secrets: Secrets,
        on db: any Database
    ) async throws -> String {
        let nonce = Tokens.random(bytes: 16)
        try await UserStore.setPendingSignIn(Tokens.sha256(nonce), for: live ? userID : UUID(), on: db)
        return cookieValue(userID: userID, remember: remember, paused: paused, next: next, nonce: nonce, secrets: secrets, now: now)
    }

    static func cookieValue(
        userID: UUID, remember: Bool, paused: Bool = false, next: String, nonce: String, secrets: Secrets, now: Date
    ) -> String {
        let expiry = String(Int(now.addingTimeInterval(lifetime).timeIntervalSince1970))
        let flag = (remember ? "r" : "") + (paused ? "p" : "")
        let target = Data(next.utf8).base64EncodedString()
        let mac = secrets.mac("pending-sign-in", userID.uuidString, expiry, flag, target, nonce)
        return [userID.uuidString, expiry, flag, target, nonce, mac].joined(separator: ".")
    }

    /// The cookie's contents when its MAC is right and it has not run out (whether it was used
    /// is the account's to say: `claim`).
    static func read(_ value: String?, secrets: Secrets, now: Date) -> Pending? {
        guard let parts = value?.split(separator: ".", omittingEmptySubsequences: false).map(String.init), parts.count == 6,
            let userID = UUID(uuidString: parts[0]), let expiry = TimeInterval(parts[1]),
            now.timeIntervalSince1970 < expiry,
            constantTimeEquals(
                Array(secrets.mac("pending-sign-in", parts[0], parts[1], parts[2], parts[3], parts[4]).utf8), Array(parts[5].utf8)),
            let target = Data(base64Encoded: parts[3]).map({ String(decoding: $0, as: UTF8.self) })
        else { return nil }
        return Pending(userID: userID, remember: parts[2].contains("r"), next: target, nonce: parts[4], paused: parts[2].contains("p"))
    }

    /// Whether `pending` is still the account's live pending sign-in (not used, not replaced).
    static func isLive(_ pending: Pending, for user: UserModel) -> Bool {
        user.pendingSignIn.map { constantTimeEquals(Array($0.utf8), Array(pending.nonceHash.utf8)) } ?? false
    }

    /// Uses `pending` up: true for exactly one caller, however many send it at once.
    static func claim(_ pending: Pending, on db: any Database) async throws -> Bool {
        try await UserStore.usePendingSignIn(pending.nonceHash, for: pending.userID, on: db)
    }
}

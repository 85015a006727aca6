import Domain
import FluentKit
import Foundation

public final class UserModel: Model, @unchecked Sendable {
    public static let schema = "users"

    @ID(key: .id) public var id: UUID?
    /// Lower-cased, unique.
    @Field(key: "email") public var email: String
    @OptionalField(key: "email_verified_at") public var emailVerifiedAt: Date?
    /// bcrypt, at `PASSWORD_HASH_COST` (12 by default); made again at sign-in if the setting changed.
    @Field(key: "password_hash") public var passwordHash: String
    @Field(key: "role") public var role: AccountRole
    @Field(key: "status") public var status: AccountStatus
    /// The Terms and Privacy Policy versions accepted at sign-up, and when.
    @Field(key: "terms_version") public var termsVersion: String
    @Field(key: "privacy_version") public var privacyVersion: String
    @Field(key: "terms_accepted_at") public var termsAcceptedAt: Date
    @Field(key: "created_at") public var createdAt: Date
    @Field(key: "updated_at") public var updatedAt: Date
    /// The TOTP seed, sealed with AES-GCM under a key derived from the server key.
    /// Set during enrolment; two-factor is on once `totpEnabledAt` is set.
    @OptionalField(key: "totp_secret") public var totpSecret: String?
    @OptionalField(key: "totp_enabled_at") public var totpEnabledAt: Date?
    /// The last TOTP time step accepted: a code cannot be used twice.
    @OptionalField(key: "totp_last_step") public var totpLastStep: Int64?
    /// SHA-256 of the nonce in the pending two-factor sign-in cookie; cleared when it is used.
    @OptionalField(key: "pending_sign_in") public var pendingSignIn: String?

    public init() {}
}

public final class RecoveryCodeModel: Model, @unchecked Sendable {
    public static let schema = "recovery_codes"

    @ID(key: .id) public var id: UUID?
    @Field(key: "user_id") public var userID: UUID
    @Field(key: "code_hash") public var codeHash: String
    @OptionalField(key: "used_at") public var usedAt: Date?
    @Field(key: "created_at") public var createdAt: Date

    public init() {}
}

public final class SessionModel: Model, @unchecked Sendable {
    public static let schema = "sessions"

    @ID(key: .id) public var id: UUID?
    @Field(key: "user_id") public var userID: UUID
    /// SHA-256 of the cookie's token; the token itself is never stored.
    @Field(key: "token_hash") public var tokenHash: String
    /// The synchronizer token forms of this session must carry.
    @Field(key: "csrf_token") public var csrfToken: String
    @Field(key: "created_at") public var createdAt: Date
    @Field(key: "last_seen_at") public var lastSeenAt: Date
    /// When the password (and 2FA) was last entered in this session.
    @Field(key: "authenticated_at") public var authenticatedAt: Date
    @Field(key: "remember") public var remember: Bool
    /// Browser and system, summarised from the User-Agent (e.g. "Firefox on Linux").
    @Field(key: "device") public var device: String
    /// The network the session was last seen from: IPv4 /24 or IPv6 /48.
    @Field(key: "ip_prefix") public var ipPrefix: String
    @OptionalField(key: "revoked_at") public var revokedAt: Date?

    public init() {}
}

public final class OneTimeCodeModel: Model, @unchecked Sendable {
    public static let schema = "one_time_codes"

    @ID(key: .id) public var id: UUID?
    @Field(key: "user_id") public var userID: UUID
    @Field(key: "purpose") public var purpose: CodePurpose
    @Field(key: "code_hash") public var codeHash: String
    @Field(key: "expires_at") public var expiresAt: Date
    @OptionalField(key: "used_at") public var usedAt: Date?
    @Field(key: "attempts") public var attempts: Int
    @Field(key: "created_at") public var createdAt: Date
    /// What the code confirms, when that is more than the account (the new address of an email change).
    @OptionalField(key: "target") public var target: String?

    public init() {}
}

public final class LoginThrottleModel: Model, @unchecked Sendable {
    public static let schema = "login_throttles"

    /// `account:<hash of the normalised email>` or `network:<ip prefix>`.
    @ID(custom: "key", generatedBy: .user) public var id: String?
    @Field(key: "failures") public var failures: Int
    @OptionalField(key: "locked_until") public var lockedUntil: Date?
    @Field(key: "updated_at") public var updatedAt: Date

    public init() {}
}

public final class AuditEventModel: Model, @unchecked Sendable {
    public static let schema = "audit_log"

    @ID(key: .id) public var id: UUID?
    @Field(key: "occurred_at") public var occurredAt: Date
    @OptionalField(key: "actor_user_id") public var actorUserID: UUID?
    /// e.g. `login.failed`, `login.locked`, `session.revoked`, `password.reset`, `admin.user.suspend`.
    @Field(key: "action") public var action: String
    @OptionalField(key: "target_type") public var targetType: String?
    @OptionalField(key: "target_id") public var targetID: String?
    @Field(key: "ip_prefix") public var ipPrefix: String
    /// A short JSON object with what else matters (never secrets).
    @Field(key: "detail") public var detail: String

    public init() {}
}

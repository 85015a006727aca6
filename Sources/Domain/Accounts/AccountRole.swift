/// What an account may do; stored in `users.role`. Ordered: each role may do what the ones
/// before it may.
public enum AccountRole: String, Sendable, Codable, Comparable, CaseIterable {
    case user, support, moderator, admin

    private var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }
    public static func < (a: AccountRole, b: AccountRole) -> Bool { a.rank < b.rank }
}

/// Whether an account can be used; stored in `users.status`. Only `active` accounts sign in.
public enum AccountStatus: String, Sendable, Codable, CaseIterable {
    case active, suspended
    case pendingDeletion = "pending_deletion"
}

/// What a one-time code proves; stored in `one_time_codes.purpose`.
public enum CodePurpose: String, Sendable, Codable, CaseIterable {
    case verifyEmail = "verify_email"
    case resetPassword = "reset_password"
    case changeEmail = "change_email"
    /// Signing in while the account's sign-in is paused after failed attempts.
    case signIn = "sign_in"
}

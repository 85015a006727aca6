import Foundation

/// What a password must be: at least 8 characters, at most 72 bytes (bcrypt reads no
/// further), not a well-known leaked password, not the email address.
public enum PasswordPolicy {
    public static let minimumLength = 8
    public static let maximumBytes = 72

    /// A message for the password field, or nil when the password is acceptable.
    public static func problem(with password: String, email: String) -> String? {
        if password.count < minimumLength {
            return "Use at least \(minimumLength) characters."
        }
        if password.utf8.count > maximumBytes {
            return "Use at most \(maximumBytes) bytes (about \(maximumBytes) letters; fewer with accents or emoji)."
        }
        let lowered = password.lowercased()
        if CommonPasswords.all.contains(lowered) {
            return "This password is on lists of leaked passwords that attackers try first. Choose another."
        }
        if Set(lowered).count <= 2 {
            return "Use more than two different characters."
        }
        let localPart = email.lowercased().split(separator: "@").first.map(String.init) ?? ""
        if lowered == email.lowercased() || (localPart.count >= 4 && lowered.contains(localPart)) {
            return "Don't use your email address in your password."
        }
        return nil
    }
}

/// Email addresses are compared in lower case, without surrounding spaces.
public enum EmailAddress {
    public static let maximumLength = 254

    /// The normalised address, or nil when it is not a plausible address.
    public static func normalize(_ raw: String) -> String? {
        let address = raw.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        guard address.count <= maximumLength else { return nil }
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
            !parts[1].hasPrefix("."), !parts[1].hasSuffix("."),
            !address.contains(where: { $0.isWhitespace || "<>()[]\\,;:\"".contains($0) })
        else { return nil }
        return address
    }
}

/// The cost a bcrypt hash was made with (`$2b$12$…` → 12), or nil for anything else.
public func bcryptCost(of hash: String) -> Int? {
    let parts = hash.split(separator: "$", omittingEmptySubsequences: false)
    guard parts.count >= 4, parts[0].isEmpty, parts[1].hasPrefix("2"), parts[2].count == 2 else { return nil }
    return Int(parts[2])
}

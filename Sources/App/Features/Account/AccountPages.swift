import Vapor

/// The forms' fields as submitted.
struct SignUpForm: Content {
    var email: String?
    var password: String?
    var birthDate: String?
    var acceptTerms: String?
    /// The person's own date, filled in by the page's script (`js/signup.js`).
    var today: String?
}

struct SignInForm: Content {
    var email: String?
    var password: String?
    var remember: String?
    var next: String?
}

struct EmailCodeForm: Content {
    var email: String?
    var code: String?
    var password: String?
}

/// One page context per template; each carries the layout and the CSRF token its forms need.
struct SignUpPage: Encodable {
    let layout: LayoutContext
    let csrf: String
    var email = ""
    var emailError: String?
    var passwordError: String?
    var birthDateError: String?
    var acceptTermsError: String?
    /// Not about one field (too many sign-ups from this network).
    var formError: String?
    var termsVersion: String
    var privacyVersion: String
}

struct NoticePage: Encodable {
    let layout: LayoutContext
    let heading: String
    let message: String
}

struct VerifyEmailPage: Encodable {
    let layout: LayoutContext
    let csrf: String
    var email: String
    var sent: Bool
    var codeError: String?
}

struct SignInPage: Encodable {
    let layout: LayoutContext
    let csrf: String
    var email = ""
    var next = ""
    var error: String?
    var notice: String?
    var unverified = false
}

struct ForgotPasswordPage: Encodable {
    let layout: LayoutContext
    let csrf: String
    var email = ""
    var sent = false
    var emailError: String?
}

struct ResetPasswordPage: Encodable {
    let layout: LayoutContext
    let csrf: String
    var email: String
    var codeError: String?
    var passwordError: String?
}

struct AccountOverviewPage: Encodable {
    let layout: LayoutContext
    let email: String
    let verified: Bool
    let role: String
    let memberSince: String
    var notice: String?
}

struct SessionsPage: Encodable {
    struct Row: Encodable {
        let revokeURL: String
        let device: String
        let network: String
        let lastSeen: String
        let started: String
        let current: Bool
    }

    let layout: LayoutContext
    let csrf: String
    let sessions: [Row]
    let hasOthers: Bool
    var notice: String?
}

extension Date {
    /// "25 Nov 2026, 14:05 UTC": how pages show times.
    var pageText: String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_GB")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "d MMM yyyy, HH:mm 'UTC'"
        return formatter.string(from: self)
    }
}

struct TwoFactorPage: Encodable {
    let layout: LayoutContext
    let csrf: String
    var error: String?
    /// Sign-in to the account is paused after failed attempts: a mailed code works too.
    var paused = false
}

struct ConfirmPasswordPage: Encodable {
    let layout: LayoutContext
    let csrf: String
    var next: String
    var needsCode: Bool
    var error: String?
}

struct SecurityPage: Encodable {
    let layout: LayoutContext
    let csrf: String
    let twoFactorOn: Bool
    let recoveryCodesLeft: Int
    var notice: String?
}

struct TwoFactorSetupPage: Encodable {
    let layout: LayoutContext
    let csrf: String
    let secret: String
    let uri: String
    var error: String?
}

struct RecoveryCodesPage: Encodable {
    let layout: LayoutContext
    let codes: [String]
}

struct ChangePasswordPage: Encodable {
    let layout: LayoutContext
    let csrf: String
    var passwordError: String?
}

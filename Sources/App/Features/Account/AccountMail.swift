import Foundation
import Mail

/// The account emails. Links point at pages that show a form; nothing is changed by
/// opening a link, so mail scanners that follow links cannot use up a code.
enum AccountMail {
    static func verifyEmail(to email: String, code: String, base: String) -> MailMessage {
        MailMessage(
            to: email, subject: "Your Pictor confirmation code: \(code)",
            text: """
                Welcome to Pictor.

                Your confirmation code is: \(code)

                Enter it at \(base)/verify-email?email=\(email.queryEscaped)
                The code works once and expires in one hour.

                If you did not sign up, ignore this message: no account is active until the code is entered.
                """,
            category: .account)
    }

    static func alreadyRegistered(to email: String, base: String) -> MailMessage {
        MailMessage(
            to: email, subject: "Someone tried to sign up to Pictor with your email",
            text: """
                Someone, maybe you, tried to create a Pictor account with this address, but it already has one.

                If it was you, sign in at \(base)/login, or reset your password at \(base)/forgot-password.
                If it was not you, you can ignore this message; nothing has changed.
                """,
            category: .security)
    }

    static func signInCode(to email: String, code: String, base: String) -> MailMessage {
        MailMessage(
            to: email, subject: "Your Pictor sign-in code: \(code)",
            text: """
                Sign-in to your account was paused after several wrong passwords, and then someone
                signed in with the right one. If that was you, your sign-in code is: \(code)

                Enter it on the page that asked for it (\(base)/login/two-factor). It works once and
                expires in one hour.

                If it was not you, someone knows your password: reset it now at \(base)/forgot-password
                """,
            category: .security)
    }

    static func resetPassword(to email: String, code: String, base: String) -> MailMessage {
        MailMessage(
            to: email, subject: "Your Pictor password reset code: \(code)",
            text: """
                Your password reset code is: \(code)

                Enter it with a new password at \(base)/reset-password?email=\(email.queryEscaped)
                The code works once and expires in one hour.

                If you did not ask to reset your password, ignore this message; your password has not changed.
                """,
            category: .security)
    }

    static func passwordChanged(to email: String, base: String) -> MailMessage {
        MailMessage(
            to: email, subject: "Your Pictor password was changed",
            text: """
                The password of your Pictor account was just changed. Other devices were signed out
                (after a reset: every device, and your API keys were revoked).

                If you did not do this, reset your password now at \(base)/forgot-password and contact support.
                """,
            category: .security)
    }

    static func confirmNewEmail(to email: String, code: String, base: String) -> MailMessage {
        MailMessage(
            to: email, subject: "Confirm your new Pictor email: \(code)",
            text: """
                Someone asked to use this address for their Pictor account.

                If it was you, your confirmation code is: \(code)
                Enter it at \(base)/account/email while signed in. It works once and expires in one hour.

                If it was not you, ignore this message.
                """,
            category: .account)
    }

    static func emailChanged(to oldEmail: String, newEmail: String, base: String) -> MailMessage {
        MailMessage(
            to: oldEmail, subject: "Your Pictor email address was changed",
            text: """
                The email address of your Pictor account was changed to \(newEmail).

                If you did not do this, reset your password at \(base)/forgot-password and contact support.
                """,
            category: .security)
    }

    static func securityChange(to email: String, change: String) -> MailMessage {
        MailMessage(
            to: email, subject: "A security setting of your Pictor account changed",
            text: """
                \(change)

                If you did not do this, reset your password now and contact support.
                """,
            category: .security)
    }
}

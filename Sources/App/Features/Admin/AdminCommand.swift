import Domain
import Fluent
import Persistence
import Vapor

/// `pictor admin create --email ops@example.com`: makes (or promotes) an administrator.
/// The password is read from standard input when piped, otherwise generated and printed once.
/// `pictor admin api-key --email …`: a new API key with every scope, printed once (automation).
/// `pictor admin grant --email … --credits 100 --reason "…"`: free credits for an account (audited;
/// the reason is shown in the person's history).
struct AdminCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Argument(name: "action", help: "create (an administrator) or api-key (a new key with every scope)")
        var action: String

        @Option(name: "email", help: "The administrator's email address")
        var email: String?

        @Option(name: "credits", help: "grant: how many free credits (1 to 1,000,000)")
        var credits: String?

        @Option(name: "reason", help: "grant: why, in a sentence the person will see")
        var reason: String?
    }

    var help: String {
        "Creates an administrator (pictor admin create --email you@example.com), an API key (pictor admin api-key --email you@example.com), or grants free credits (pictor admin grant --email them@example.com --credits 100 --reason \"…\")"
    }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        guard let email = signature.email.flatMap(EmailAddress.normalize) else { throw CommandError.badEmail }
        switch signature.action {
        case "create":
            let piped = isatty(STDIN_FILENO) == 0 ? readLine(strippingNewline: true) : nil
            // An empty line piped in (`printf '%s\n' "$UNSET"`) gets a generated password too, shown once.
            let chosen = piped.flatMap { $0.isEmpty ? nil : $0 }
            let password = chosen ?? Tokens.random(bytes: 18)
            if try await OperatorTools.createAccount(email: email, password: password, administrator: true, app: app) {
                context.console.print("Administrator \(email) created.")
                if chosen == nil { context.console.print("Password (shown once): \(password)") }
            } else {
                context.console.print("\(email) already had an account; it is now an administrator. Its password is unchanged.")
            }
        case "grant":
            guard let credits = signature.credits.flatMap({ Int($0) }), (1...1_000_000).contains(credits) else {
                throw CommandError.badCredits
            }
            let reason = (signature.reason ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            guard !reason.isEmpty, reason.count <= 200 else { throw CommandError.badReason }
            try await OperatorTools.grantCredits(credits, email: email, reason: reason, app: app)
            context.console.print("\(credits) free credits granted to \(email).")
        case "api-key":
            let key = try await OperatorTools.createAPIKey(email: email, name: "made by pictor admin api-key", app: app)
            context.console.print("API key for \(email) with every scope (shown once): \(key)")
        default:
            throw CommandError.unsupported(signature.action)
        }
    }

    enum CommandError: Error, CustomStringConvertible {
        case unsupported(String)
        case badEmail
        case weakPassword(String)
        case noSuchAccount
        case badCredits
        case badReason

        var description: String {
            switch self {
            case .unsupported(let action): "unknown action '\(action)': use create, api-key or grant"
            case .badEmail: "give a valid --email, e.g. `pictor admin create --email you@example.com`"
            case .weakPassword(let problem): "the password on standard input was refused: \(problem)"
            case .noSuchAccount: "no account has that email address; create it first"
            case .badCredits: "give --credits as a whole number from 1 to 1000000"
            case .badReason: "give --reason: a sentence of at most 200 characters that the person will see"
            }
        }
    }
}

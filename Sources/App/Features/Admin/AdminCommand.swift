import Fluent
import Persistence
import Vapor

/// `pictor admin create --email ops@example.com`: makes (or promotes) an administrator.
/// The password is read from standard input when piped, otherwise generated and printed once.
struct AdminCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Argument(name: "action", help: "create")
        var action: String

        @Option(name: "email", help: "The administrator's email address")
        var email: String?
    }

    var help: String { "Creates an administrator account: pictor admin create --email you@example.com" }

    func run(using context: CommandContext, signature: Signature) async throws {
        guard signature.action == "create" else { throw CommandError.unsupported(signature.action) }
        guard let email = signature.email.flatMap(EmailAddress.normalize) else { throw CommandError.badEmail }
        let app = context.application
        let piped = isatty(STDIN_FILENO) == 0 ? readLine(strippingNewline: true) : nil
        let password = piped.flatMap { $0.isEmpty ? nil : $0 } ?? Tokens.random(bytes: 18)
        if let problem = PasswordPolicy.problem(with: password, email: email) { throw CommandError.weakPassword(problem) }
        let hash = try await app.password.async.hash(password)
        let now = Date()
        let created = try await app.db.transaction { tx -> Bool in
            if let user = try await UserModel.query(on: tx).filter(\.$email == email).first() {
                user.role = CurrentUser.Role.admin.rawValue
                user.updatedAt = now
                try await user.update(on: tx)
                try await Audit.append("admin.promoted", actor: nil, target: ("user", user.id!.uuidString), origin: "command line", on: tx)
                return false
            }
            let user = UserModel.new(email: email, passwordHash: hash, role: .admin, config: app.pictor.config)
            user.emailVerifiedAt = now
            try await user.create(on: tx)
            try await Audit.append("admin.created", actor: nil, target: ("user", user.id!.uuidString), origin: "command line", on: tx)
            return true
        }
        if created {
            context.console.print("Administrator \(email) created.")
            if piped == nil { context.console.print("Password (shown once): \(password)") }
        } else {
            context.console.print("\(email) already had an account; it is now an administrator. Its password is unchanged.")
        }
    }

    enum CommandError: Error, CustomStringConvertible {
        case unsupported(String)
        case badEmail
        case weakPassword(String)

        var description: String {
            switch self {
            case .unsupported(let action): "unknown action '\(action)': use `pictor admin create --email you@example.com`"
            case .badEmail: "give a valid --email, e.g. `pictor admin create --email you@example.com`"
            case .weakPassword(let problem): "the password on standard input was refused: \(problem)"
            }
        }
    }
}

import Domain

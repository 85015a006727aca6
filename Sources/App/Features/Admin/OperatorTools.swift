import Domain
import Fluent
import Persistence
import Vapor

/// What `pictor admin` does, callable from code too (the benchmarks make their account with it).
public enum OperatorTools {
    /// Makes a verified account with `role` (or changes an existing account's role).
    /// Returns true when it was created.
    @discardableResult
    public static func createAccount(email rawEmail: String, password: String, administrator: Bool, app: Application) async throws -> Bool {
        guard let email = EmailAddress.normalize(rawEmail) else { throw AdminCommand.CommandError.badEmail }
        if let problem = PasswordPolicy.problem(with: password, email: email) { throw AdminCommand.CommandError.weakPassword(problem) }
        let role: CurrentUser.Role = administrator ? .admin : .user
        let hash = try await app.password.async.hash(password)
        let now = app.pictor.clock.now()
        return try await app.db.transaction { tx -> Bool in
            if let user = try await UserStore.find(email: email, on: tx) {
                guard administrator else { return false }
                user.role = role
                user.updatedAt = now
                try await UserStore.save(user, on: tx)
                try await Audit.append("admin.promoted", actor: nil, target: ("user", user.id!.uuidString), origin: "command line", at: now, on: tx)
                return false
            }
            let user = UserModel.new(email: email, passwordHash: hash, role: role, now: now, config: app.pictor.config)
            user.emailVerifiedAt = now
            try await UserStore.insert(user, on: tx)
            try await WelcomeCredits.grant(to: try user.requireID(), config: app.pictor.config, now: now, on: tx)
            try await Audit.append(
                administrator ? "admin.created" : "account.created", actor: nil,
                target: ("user", user.id!.uuidString), origin: "command line", at: now, on: tx)
            return true
        }
    }

    /// Gives the account with `email` free credits (a staff grant), with its reason, audited.
    public static func grantCredits(_ credits: Int, email rawEmail: String, reason: String, app: Application) async throws {
        guard let email = EmailAddress.normalize(rawEmail), let user = try await UserStore.find(email: email, on: app.db)?.id else {
            throw AdminCommand.CommandError.noSuchAccount
        }
        let now = app.pictor.clock.now()
        try await writeTransaction(on: app.db) { tx in
            try await LedgerStore.add(credits, to: user, source: .free, kind: .grant, expiresAt: nil, orderID: nil, reason: reason, now: now, on: tx)
            try await Audit.append(
                "credits.granted", actor: nil, target: ("user", user.uuidString), detail: ["credits": String(credits), "reason": reason],
                origin: "command line", at: now, on: tx)
        }
    }

    /// A new API key with every scope for the account with `email`, returned once.
    public static func createAPIKey(email rawEmail: String, name: String, app: Application) async throws -> String {
        guard let email = EmailAddress.normalize(rawEmail),
            let user = try await UserStore.find(email: email, on: app.db)
        else { throw AdminCommand.CommandError.noSuchAccount }
        let created = try await APIKeys.create(name: name, scopes: APIScope.allCases, for: user.id!, now: app.pictor.clock.now(), on: app.db)
        try await Audit.append(
            "api_key.created", actor: nil, target: ("api_key", created.row.id!.uuidString), origin: "command line", at: app.pictor.clock.now(),
            on: app.db)
        return created.key
    }
}

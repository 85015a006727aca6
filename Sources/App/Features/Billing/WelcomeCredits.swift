import Domain
import Fluent
import Foundation
import Persistence

/// The free credits a new account starts with (`SIGNUP_GRANT_CREDITS`, 20 by default), given in
/// the transaction that makes the account: enough to try the built-in engine.
enum WelcomeCredits {
    static let reason = "Welcome credits"

    static func grant(to userID: UUID, config: AppConfig, now: Date, on db: any Database) async throws {
        guard config.signUpGrantCredits > 0 else { return }
        try await LedgerStore.add(
            config.signUpGrantCredits, to: userID, source: .free, kind: .grant, expiresAt: nil, orderID: nil, reason: reason, now: now,
            on: db)
    }
}

import Domain
import Fluent
import Foundation
import Persistence

/// Credits kept in the ledger (`LedgerStore`): a generation's price is held from the person's
/// wallet at submission (refused with `CreditsError` when it cannot be covered, nothing held),
/// what it delivered is spent when it ends, and the rest comes back. Both in the caller's
/// transaction, with the generation's own rows.
struct LedgerCredits: Credits {
    func hold(_ amount: Int, user: UUID, generation: UUID, now: Date, on db: any Database) async throws {
        guard try await LedgerStore.hold(amount, for: generation, of: user, now: now, on: db) else {
            throw CreditsError(needed: amount, available: try await LedgerStore.balance(of: user, on: db).available)
        }
    }

    func settle(generation: UUID, user: UUID, held: Int, captured: Int, now: Date, on db: any Database) async throws {
        try await LedgerStore.settle(generation: generation, of: user, captured: captured, now: now, on: db)
    }
}

import Domain
import Fluent
import Foundation
import Persistence
import Vapor

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

extension Application {
    /// Benchmarks only: generations cost nothing (`UnlimitedCredits`), so the ledger's share of
    /// the submit path can be measured beside it in the same run.
    public func chargeNothingForGenerations() {
        pictor = pictor.with(credits: UnlimitedCredits())
    }
}

extension Application {
    /// Generations are paid from the ledger (`LedgerCredits`, what `configure` sets up).
    public func payForGenerationsFromTheLedger() {
        pictor = pictor.with(credits: LedgerCredits())
    }
}

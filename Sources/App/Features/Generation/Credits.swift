import Domain
import Fluent
import Foundation

/// Credit holds for generations. Both calls run inside the caller's transaction (`db`), so
/// a hold commits with its generation and a settlement with the generation's final state.
/// `LedgerCredits` keeps them in the ledger (the default); `UnlimitedCredits` charges nothing.
protocol Credits: Sendable {
    /// Reserves `amount` for the generation. Throws `CreditsError.insufficient` when the
    /// user's balance cannot cover it (nothing is written then). Called after the generation's
    /// row is inserted in the same transaction: a ledger may refer to it, and a repeated
    /// Idempotency-Key fails on that row's unique key before any hold is tried, so a parallel
    /// repeat answers with the first generation, never "not enough credits".
    func hold(_ amount: Int, user: UUID, generation: UUID, now: Date, on db: any Database) async throws
    /// Captures `captured` of the generation's hold of `held` and releases the rest.
    /// The generation pipeline calls it exactly once per generation.
    func settle(generation: UUID, user: UUID, held: Int, captured: Int, now: Date, on db: any Database) async throws
}

/// Everyone has enough: it records nothing (the generation row keeps what was held and what was
/// charged). For tests and tools that are not about credits.
struct UnlimitedCredits: Credits {
    func hold(_ amount: Int, user: UUID, generation: UUID, now: Date, on db: any Database) async throws {}
    func settle(generation: UUID, user: UUID, held: Int, captured: Int, now: Date, on db: any Database) async throws {}
}

struct CreditsError: UserFacingError, Equatable {
    let needed: Int
    let available: Int

    var kind: FailureKind { .paymentRequired }
    var userMessage: String {
        "This needs \(needed) credits and you have \(available). Buy credits, or ask for fewer images. You were not charged."
    }
}

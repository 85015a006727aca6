import Fluent
import Foundation
import Persistence
import Vapor

/// What the maintenance sweep does for credits.
enum BillingSweeps {
    /// Settles holds whose generation ended without settling them: what the generation says it
    /// charged is spent, the rest comes back (all of it when the generation is gone). Returns how many.
    static func settleStranded(app: Application, now: Date) async throws -> Int {
        var settled = 0
        for hold in try await LedgerStore.strandedHolds(limit: 500, on: app.db) {
            let held = try await writeTransaction(on: app.db) { tx in
                try await LedgerStore.settle(generation: hold.generation, of: hold.user, captured: hold.charged, now: now, on: tx)
            }
            if held > 0 { settled += 1 }
        }
        return settled
    }

    /// Wallets whose cached balance disagrees with their entries or lots; logged as an error
    /// when there are any (the operator console shows the same count).
    static func checkBalances(app: Application, logger: Logger) async throws -> Int {
        let mismatched = try await LedgerStore.mismatchedWallets(on: app.db)
        if !mismatched.isEmpty {
            logger.error(
                "ledger mismatch", metadata: ["wallets": "\(mismatched.count)", "first": "\(mismatched.prefix(5).map(\.uuidString))"])
        }
        return mismatched.count
    }
}

import Domain
import Foundation
import Persistence
import Vapor

/// `GET /api/v1/balance` and `GET /api/v1/ledger` (newest first, 50 a page; `?cursor=` the
/// previous page's `nextCursor`, as the other lists take it).
enum BillingAPI {
    struct BalanceView: Content {
        let available: Int
        let held: Int
        let total: Int
    }

    struct EntryView: Content {
        let id: UUID
        let kind: String
        let change: Int64
        let availableChange: Int64
        let heldChange: Int64
        let balanceAfter: Int
        let reason: String?
        let generationId: UUID?
        let orderId: UUID?
        let createdAt: Date
    }

    struct LedgerView: Content {
        let data: [EntryView]
        /// Pass as `?cursor=` for the next (older) page; nil on the last.
        let nextCursor: String?
    }

    @Sendable static func balance(req: Request) async throws -> BalanceView {
        let user = try req.requireUser(scope: .accountRead)
        let balance = try await LedgerStore.balance(of: user.id, on: req.db)
        return BalanceView(available: balance.available, held: balance.held, total: balance.available + balance.held)
    }

    @Sendable static func ledger(req: Request) async throws -> LedgerView {
        let user = try req.requireUser(scope: .accountRead)
        var cursor: (at: Date, id: UUID)?
        if let text = try? req.query.get(String.self, at: "cursor") {
            guard let parsed = LedgerCursor.parse(text) else {
                throw GenerationInputError(fieldErrors: [FieldError(field: "cursor", message: "Use the nextCursor value of the previous page.")])
            }
            cursor = parsed
        }
        let limit = 50
        let rows = try await LedgerStore.entries(of: user.id, after: cursor, limit: limit + 1, on: req.db)
        let page = rows.prefix(limit)
        return LedgerView(
            data: page.map { row in
                EntryView(
                    id: row.entry.id!, kind: row.entry.kind.rawValue, change: row.entry.availableDelta + row.entry.heldDelta,
                    availableChange: row.entry.availableDelta, heldChange: row.entry.heldDelta, balanceAfter: row.balanceAfter,
                    reason: row.entry.reason, generationId: row.entry.generationID, orderId: row.entry.orderID, createdAt: row.entry.createdAt)
            },
            nextCursor: rows.count > limit ? page.last.flatMap { LedgerCursor.after($0.entry) } : nil)
    }
}

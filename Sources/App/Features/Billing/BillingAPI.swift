import Domain
import Foundation
import Persistence
import Vapor

/// `GET /api/v1/balance` and `GET /api/v1/ledger` (newest first, `?after=` the previous page's `next`).
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
        let entries: [EntryView]
        /// Pass as `?after=` for the next (older) page; nil on the last.
        let next: String?
    }

    @Sendable static func balance(req: Request) async throws -> BalanceView {
        let user = try req.requireUser()
        let balance = try await LedgerStore.balance(of: user.id, on: req.db)
        return BalanceView(available: balance.available, held: balance.held, total: balance.available + balance.held)
    }

    @Sendable static func ledger(req: Request) async throws -> LedgerView {
        let user = try req.requireUser()
        var cursor: LedgerCursor?
        if let text = try? req.query.get(String.self, at: "after") {
            guard let parsed = LedgerCursor(text: text) else {
                throw GenerationInputError(fieldErrors: [FieldError(field: "after", message: "Use the `next` value of the previous page.")])
            }
            cursor = parsed
        }
        let limit = 50
        let rows = try await LedgerStore.entries(of: user.id, after: cursor.map { ($0.at, $0.id) }, limit: limit + 1, on: req.db)
        let page = rows.prefix(limit)
        return LedgerView(
            entries: page.map { row in
                EntryView(
                    id: row.entry.id!, kind: row.entry.kind.rawValue, change: row.entry.availableDelta + row.entry.heldDelta,
                    availableChange: row.entry.availableDelta, heldChange: row.entry.heldDelta, balanceAfter: row.balanceAfter,
                    reason: row.entry.reason, generationId: row.entry.generationID, orderId: row.entry.orderID, createdAt: row.entry.createdAt)
            },
            next: rows.count > limit ? page.last.flatMap { LedgerCursor(at: $0.entry.createdAt, id: $0.entry.id)?.text } : nil)
    }
}

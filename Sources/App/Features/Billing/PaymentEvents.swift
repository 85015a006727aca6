import Domain
import Fluent
import Foundation
import Payments
import Persistence
import Vapor

/// Applies what a payment provider reports, once. The event's id is stored in the same
/// transaction as its effect, so a repeated delivery (the provider retries for days) finds it
/// and changes nothing; each order change is conditional as well, so the same news under two
/// event ids (`completed` then `async_payment_succeeded`) still credits once. News that comes
/// before what it depends on (a refund of a payment Pictor has not heard of) is completed by
/// reading the payment back from the provider.
enum PaymentEvents {
    enum Outcome: Equatable {
        case applied
        /// The event was applied before: nothing changed.
        case repeated
    }

    static func apply(_ event: PaymentEvent, provider: any PaymentProvider, app: Application) async throws -> Outcome {
        let now = app.pictor.clock.now()
        // Reads from the provider happen before the transaction: no network call holds the database.
        var readFacts: PaymentFacts?
        var readLateOrder: (id: UUID, payment: String, amount: Money?)?
        switch event.kind {
        case .paid(_, let payment, _):
            readFacts = try? await provider.payment(payment)
        case .refunded(let payment, _), .disputeOpened(let payment, _), .disputeClosed(let payment, _, _):
            if try await OrderStore.find(payment: payment, provider: provider.name, on: app.db) == nil {
                let read = try await provider.payment(payment)
                readFacts = read
                if read.paid, let order = read.orderID { readLateOrder = (order, payment, read.amount) }
            }
        case .processing, .failed, .ignored:
            break
        }

        let (facts, lateOrder) = (readFacts, readLateOrder)
        let orderID: UUID? =
            switch event.kind {
            case .paid(let order, _, _), .processing(let order), .failed(let order): order
            default: lateOrder?.id
            }
        return try await writeTransaction(on: app.db) { tx in
            guard try await OrderStore.recordEvent(provider: provider.name, eventID: event.id, type: event.type, order: orderID, now: now, on: tx)
            else { return .repeated }
            // News about a payment Pictor had not heard of: the payment read back is applied first.
            if let late = lateOrder {
                try await markPaid(late.id, payment: late.payment, amount: late.amount, facts: facts, app: app, now: now, on: tx)
            }
            switch event.kind {
            case .paid(let order, let payment, let amount):
                try await markPaid(order, payment: payment, amount: amount, facts: facts, app: app, now: now, on: tx)
            case .processing:
                break
            case .failed(let order):
                if try await OrderStore.markFailed(order, now: now, on: tx) {
                    try await Audit.append(
                        "billing.order.failed", actor: nil, target: ("order", order.uuidString), origin: provider.name, at: now, on: tx)
                }
            case .refunded(let payment, let total):
                guard let order = try await OrderStore.find(payment: payment, provider: provider.name, on: tx), total.currency == order.currency
                else { break }
                try await applyRefunded(order, total: total.minorUnits, reason: "Refunded by the payment processor", now: now, on: tx)
            case .disputeOpened(let payment, let dispute):
                guard let order = try await OrderStore.find(payment: payment, provider: provider.name, on: tx), let id = order.id else { break }
                if try await OrderStore.setDispute(id, dispute: dispute, status: "open", now: now, on: tx), let lot = order.lotID,
                    let user = order.userID
                {
                    try await LedgerStore.freeze(lot: lot, of: user, order: id, now: now, on: tx)
                }
                try await Audit.append("billing.dispute.opened", actor: nil, target: ("order", id.uuidString), origin: provider.name, at: now, on: tx)
            case .disputeClosed(let payment, let dispute, let won):
                guard let order = try await OrderStore.find(payment: payment, provider: provider.name, on: tx), let id = order.id else { break }
                if try await OrderStore.setDispute(id, dispute: dispute, status: won ? "won" : "lost", now: now, on: tx), let lot = order.lotID,
                    let user = order.userID
                {
                    try await LedgerStore.unfreeze(lot: lot, of: user, order: id, won: won, now: now, on: tx)
                }
                try await Audit.append(
                    "billing.dispute.closed", actor: nil, target: ("order", id.uuidString), detail: ["outcome": won ? "won" : "lost"],
                    origin: provider.name, at: now, on: tx)
            case .ignored:
                break
            }
            return .applied
        }
    }

    /// The order is paid: once, its credits arrive as a paid lot, the fraud signals are noted,
    /// and the receipt is mailed (through the outbox, in this transaction).
    static func markPaid(
        _ orderID: UUID, payment: String, amount: Money?, facts: PaymentFacts?, app: Application, now: Date, on db: any Database
    ) async throws {
        guard let order = try await OrderStore.find(orderID, on: db) else { return }
        if let amount, amount.minorUnits != order.amountMinor || amount.currency != order.currency {
            // Money arrived for another amount than the order's: staff decide; no credits.
            try await OrderStore.flag(orderID, with: [FraudSignal.amountMismatch.rawValue], on: db)
            app.logger.error("payment amount differs from its order", metadata: ["order": "\(orderID)"])
            return
        }
        guard let user = order.userID else {
            // The account was erased before the money arrived: the record stays true, with no credits.
            if try await OrderStore.markPaidWithoutCredits(orderID, payment: payment, now: now, on: db) {
                try await OrderStore.flag(orderID, with: [FraudSignal.accountErased.rawValue], on: db)
            }
            return
        }
        guard
            try await OrderStore.markPaid(
                orderID, payment: payment, cardFingerprint: facts?.cardFingerprint, riskLevel: facts?.riskLevel, now: now, on: db)
        else { return }
        let lot = try await LedgerStore.add(
            Int(order.credits), to: user, source: .paid, kind: .purchase, expiresAt: nil, orderID: orderID,
            reason: "\(packName(order.packID, app: app)) pack", now: now, on: db)
        var sameCard = 0
        if let fingerprint = facts?.cardFingerprint {
            sameCard = try await OrderStore.paidCount(
                user: nil, network: nil, cardFingerprint: fingerprint, since: now.addingTimeInterval(-86_400), on: db)
        }
        let flags = FraudSignal.forPayment(riskLevel: facts?.riskLevel, cardOrdersToday: sameCard)
        try await OrderStore.setLot(lot, of: orderID, on: db)
        try await OrderStore.flag(orderID, with: flags.map(\.rawValue), on: db)
        try await Audit.append(
            "billing.order.paid", actor: user, target: ("order", orderID.uuidString),
            detail: ["credits": String(order.credits), "flags": flags.map(\.rawValue).joined(separator: ",")], origin: order.provider, at: now,
            on: db)
        if let email = try await UserStore.find(user, on: db)?.email {
            let paid = try await OrderStore.find(orderID, on: db) ?? order
            try await Postman.queue(
                BillingMail.receipt(for: paid, packName: packName(order.packID, app: app), to: email, app: app), userID: user, app: app, on: db)
        }
    }

    /// Raises the order's refunded total to `total` and takes back the credits the increase paid
    /// for (those still unspent: never below zero). Returns the credits taken.
    @discardableResult
    static func applyRefunded(_ order: OrderModel, total: Int64, reason: String, now: Date, on db: any Database) async throws -> (
        credits: Int, amount: Int64
    ) {
        guard let id = order.id else { return (0, 0) }
        let delta = try await OrderStore.raiseRefunded(id, to: total, now: now, on: db)
        guard delta > 0, let lot = order.lotID, let user = order.userID else { return (0, delta) }
        let unused = try await LedgerStore.unused(inLot: lot, on: db)
        let credits = RefundMath.credits(forRefunded: delta, of: Int(order.credits), paid: order.amountMinor, unused: unused)
        let taken = try await LedgerStore.takeBack(upTo: credits, fromLot: lot, of: user, kind: .refund, order: id, reason: reason, now: now, on: db)
        return (taken, delta)
    }

    static func packName(_ id: String, app: Application) -> String {
        app.pictor.config.packs.first { $0.id == id }?.name ?? id
    }
}

import Domain
import FluentKit
import Foundation
import SQLKit

/// Orders for credits, the payment events applied to them, and refund requests. Every change
/// of an order's state is one conditional statement, so two deliveries of the same news at
/// once apply it once.
public enum OrderStore {
    public static func insert(_ order: OrderModel, on db: any Database) async throws {
        try await order.create(on: db)
    }

    public static func find(_ id: UUID, on db: any Database) async throws -> OrderModel? {
        try await OrderModel.find(id, on: db)
    }

    /// The order if it is `user`'s; nil for another's (the caller answers 404 for both).
    public static func find(_ id: UUID, ownedBy user: UUID, on db: any Database) async throws -> OrderModel? {
        try await OrderModel.query(on: db).filter(\.$id == id).filter(\.$userID == user).first()
    }

    public static func find(payment reference: String, provider: String, on db: any Database) async throws -> OrderModel? {
        try await OrderModel.query(on: db).filter(\.$paymentReference == reference).filter(\.$provider == provider).first()
    }

    public static func setCheckoutReference(_ reference: String, of id: UUID, now: Date, on db: any Database) async throws {
        try await OrderModel.query(on: db).filter(\.$id == id).set(\.$checkoutReference, to: reference).set(\.$updatedAt, to: now).update()
    }

    /// A person's orders, newest first, `limit` a page, those created before `before`.
    public static func page(of user: UUID, before: Date?, limit: Int, on db: any Database) async throws -> [OrderModel] {
        var query = OrderModel.query(on: db).filter(\.$userID == user)
        if let before { query = query.filter(\.$createdAt < before) }
        return try await query.sort(\.$createdAt, .descending).sort(\.$id, .descending).limit(limit).all()
    }

    /// Every order, newest first, optionally only those in `states` (the staff console).
    public static func recent(states: [OrderState]?, limit: Int, on db: any Database) async throws -> [OrderModel] {
        var query = OrderModel.query(on: db)
        if let states { query = query.filter(\.$state ~~ states) }
        return try await query.sort(\.$createdAt, .descending).limit(limit).all()
    }

    /// Marks the order paid (once: from pending, or from failed when money arrived after all)
    /// with the payment's reference and what the processor said about it. False when it was
    /// already paid, refunded or disputed: the news was applied before.
    public static func markPaid(
        _ id: UUID, payment: String, cardFingerprint: String?, riskLevel: String?, now: Date, on db: any Database
    ) async throws -> Bool {
        try await sqlDatabase(db).raw(
            """
            UPDATE orders SET state = \(unsafeRaw: OrderState.paid.sql), payment_reference = \(bind: payment),
                card_fingerprint = \(bind: cardFingerprint), risk_level = \(bind: riskLevel), paid_at = \(bind: now), updated_at = \(bind: now)
            WHERE id = \(bind: id) AND state IN (\(unsafeRaw: OrderState.pending.sql), \(unsafeRaw: OrderState.failed.sql))
            RETURNING id
            """
        ).first() != nil
    }

    public static func setLot(_ lot: UUID, of id: UUID, on db: any Database) async throws {
        try await OrderModel.query(on: db).filter(\.$id == id).set(\.$lotID, to: lot).update()
    }

    /// Pending → failed; false when the order was not pending.
    public static func markFailed(_ id: UUID, now: Date, on db: any Database) async throws -> Bool {
        try await sqlDatabase(db).raw(
            """
            UPDATE orders SET state = \(unsafeRaw: OrderState.failed.sql), updated_at = \(bind: now)
            WHERE id = \(bind: id) AND state = \(unsafeRaw: OrderState.pending.sql) RETURNING id
            """
        ).first() != nil
    }

    /// Lowers the order's refunded total by `amount` (a refund Pictor recorded before asking the
    /// provider, which then refused it). Never below zero.
    public static func lowerRefunded(_ id: UUID, by amount: Int64, now: Date, on db: any Database) async throws {
        guard amount > 0, let order = try await find(id, on: db) else { return }
        let total = max(0, order.refundedMinor - amount)
        let state: OrderState = order.state == .disputed ? .disputed : .paid(refunded: total, of: order.amountMinor)
        try await sqlDatabase(db).raw(
            """
            UPDATE orders SET refunded_minor = \(bind: total), state = \(bind: state.rawValue), updated_at = \(bind: now)
            WHERE id = \(bind: id) AND refunded_minor = \(bind: order.refundedMinor)
            """
        ).run()
    }

    /// Raises the order's refunded total to `total` (never lowers it: refunded totals only grow,
    /// and an older event must not undo a newer one). Returns the increase, 0 when there is none.
    /// Compare-and-set: two at once each apply their own increase.
    public static func raiseRefunded(_ id: UUID, to total: Int64, now: Date, on db: any Database) async throws -> Int64 {
        for _ in 0..<5 {
            guard let order = try await find(id, on: db) else { return 0 }
            let before = order.refundedMinor
            let capped = min(total, order.amountMinor)
            guard capped > before else { return 0 }
            let state: OrderState = order.state == .disputed ? .disputed : .paid(refunded: capped, of: order.amountMinor)
            let changed =
                try await sqlDatabase(db).raw(
                    """
                    UPDATE orders SET refunded_minor = \(bind: capped), state = \(bind: state.rawValue), updated_at = \(bind: now)
                    WHERE id = \(bind: id) AND refunded_minor = \(bind: before) RETURNING id
                    """
                ).first() != nil
            if changed { return capped - before }
        }
        throw LedgerStore.Inconsistency(description: "the refunded total of order \(id) kept changing")
    }

    /// Records a dispute's news: `open`, then `won` or `lost`. Open, the order is `disputed`;
    /// won, it goes back to what its refunds make it; lost, it stays `disputed` (charged back).
    /// News about a dispute that already closed (an opening delivered after the close) changes
    /// nothing. False when nothing changed.
    public static func setDispute(_ id: UUID, dispute: String, status: String, now: Date, on db: any Database) async throws -> Bool {
        guard let order = try await find(id, on: db) else { return false }
        let closed = ["won", "lost"]
        if order.disputeReference == dispute, let current = order.disputeStatus, current == status || closed.contains(current) {
            return false
        }
        let state: OrderState = status != "won" ? .disputed : .paid(refunded: order.refundedMinor, of: order.amountMinor)
        return try await sqlDatabase(db).raw(
            """
            UPDATE orders SET dispute_reference = \(bind: dispute), dispute_status = \(bind: status), state = \(bind: state.rawValue),
                updated_at = \(bind: now)
            WHERE id = \(bind: id) AND COALESCE(dispute_status, '') = \(bind: order.disputeStatus ?? "")
              AND COALESCE(dispute_reference, '') = \(bind: order.disputeReference ?? "") RETURNING id
            """
        ).first() != nil
    }

    /// Adds fraud signals to an order (kept with those it has).
    public static func flag(_ id: UUID, with flags: [String], on db: any Database) async throws {
        guard let order = try await find(id, on: db) else { return }
        let all = Set(order.fraudFlags.split(separator: ",").map(String.init) + flags).sorted()
        try await OrderModel.query(on: db).filter(\.$id == id).set(\.$fraudFlags, to: all.joined(separator: ",")).update()
    }

    /// Marks the order paid with no credits (its account was erased before the money arrived):
    /// the payment record stays true for refunds and disputes that follow.
    public static func markPaidWithoutCredits(_ id: UUID, payment: String, now: Date, on db: any Database) async throws -> Bool {
        try await sqlDatabase(db).raw(
            """
            UPDATE orders SET state = \(unsafeRaw: OrderState.paid.sql), payment_reference = \(bind: payment), paid_at = \(bind: now),
                updated_at = \(bind: now)
            WHERE id = \(bind: id) AND state IN (\(unsafeRaw: OrderState.pending.sql), \(unsafeRaw: OrderState.failed.sql)) RETURNING id
            """
        ).first() != nil
    }

    /// Orders paid since `since` by this person, from this network, or with this card: purchase velocity.
    public static func paidCount(user: UUID?, network: String?, cardFingerprint: String?, since: Date, on db: any Database) async throws
        -> Int
    {
        var query = OrderModel.query(on: db).filter(\.$paidAt >= since)
        if let user { query = query.filter(\.$userID == user) }
        if let network { query = query.filter(\.$network == network) }
        if let cardFingerprint { query = query.filter(\.$cardFingerprint == cardFingerprint) }
        return try await query.count()
    }

    /// Holds, until the caller's transaction ends, the locks that make checkout limits exact:
    /// the person's account row, and a row for their network (in `login_throttles`, keyed
    /// `checkout:<network>`, kept a day like its other counts). Two checkouts of one person or one
    /// network then count and insert one after the other (PostgreSQL; SQLite has one writer).
    public static func lockForCheckout(user: UUID, network: String, now: Date, on db: any Database) async throws {
        let sql = try sqlDatabase(db)
        try await sql.raw("UPDATE users SET updated_at = updated_at WHERE id = \(bind: user)").run()
        try await sql.raw(
            """
            INSERT INTO login_throttles (key, failures, locked_until, updated_at) VALUES (\(bind: "checkout:" + network), 0, NULL, \(bind: now))
            ON CONFLICT (key) DO UPDATE SET updated_at = excluded.updated_at
            """
        ).run()
    }

    /// Orders started since `since` by this person or from this network (paid or not).
    public static func startedCount(user: UUID?, network: String?, since: Date, on db: any Database) async throws -> Int {
        var query = OrderModel.query(on: db).filter(\.$createdAt >= since)
        if let user { query = query.filter(\.$userID == user) }
        if let network { query = query.filter(\.$network == network) }
        return try await query.count()
    }

    /// Whether a pending order's checkout completed with the money still to come ("pay later").
    public static func isProcessing(_ id: UUID, on db: any Database) async throws -> Bool {
        try await sqlDatabase(db).raw(
            """
            SELECT e.id FROM payment_events e JOIN orders o ON o.id = e.order_id
            WHERE e.order_id = \(bind: id) AND e.type = 'checkout.session.completed' AND o.state = \(unsafeRaw: OrderState.pending.sql)
            """
        ).first() != nil
    }

    /// Stores a payment event's id; false when it was stored before (the delivery is a repeat,
    /// and nothing more is done). In the transaction that applies the event: both or neither.
    public static func recordEvent(
        provider: String, eventID: String, type: String, order: UUID?, now: Date, on db: any Database
    ) async throws -> Bool {
        try await sqlDatabase(db).raw(
            """
            INSERT INTO payment_events (id, provider, event_id, type, order_id, received_at)
            VALUES (\(bind: UUID()), \(bind: provider), \(bind: eventID), \(bind: type), \(bind: order), \(bind: now))
            ON CONFLICT (provider, event_id) DO NOTHING RETURNING id
            """
        ).first() != nil
    }
}

/// Refund requests: a person's, and staff's decision on it.
public enum RefundRequestStore {
    public static func insert(_ request: RefundRequestModel, on db: any Database) async throws {
        try await request.create(on: db)
    }

    public static func find(_ id: UUID, on db: any Database) async throws -> RefundRequestModel? {
        try await RefundRequestModel.find(id, on: db)
    }

    public static func of(order: UUID, on db: any Database) async throws -> [RefundRequestModel] {
        try await RefundRequestModel.query(on: db).filter(\.$orderID == order).sort(\.$createdAt).all()
    }

    public static func waiting(limit: Int, on db: any Database) async throws -> [RefundRequestModel] {
        try await RefundRequestModel.query(on: db).filter(\.$state == .requested).sort(\.$createdAt).limit(limit).all()
    }

    /// Refund requests a person made since `since` (the refund-abuse signal).
    public static func count(by user: UUID, since: Date, on db: any Database) async throws -> Int {
        try await RefundRequestModel.query(on: db).filter(\.$userID == user).filter(\.$createdAt >= since).count()
    }

    /// Requested → processing, once: the staff member who approves claims the request before
    /// the provider is asked. False when another decision came first.
    public static func claim(_ id: UUID, by staff: UUID, on db: any Database) async throws -> Bool {
        try await sqlDatabase(db).raw(
            """
            UPDATE refund_requests SET state = \(unsafeRaw: RefundRequestState.processing.sql), decided_by = \(bind: staff)
            WHERE id = \(bind: id) AND state = \(unsafeRaw: RefundRequestState.requested.sql) RETURNING id
            """
        ).first() != nil
    }

    /// Processing → requested: the provider refused the refund; the request waits again.
    public static func release(_ id: UUID, on db: any Database) async throws {
        try await sqlDatabase(db).raw(
            """
            UPDATE refund_requests SET state = \(unsafeRaw: RefundRequestState.requested.sql), decided_by = NULL
            WHERE id = \(bind: id) AND state = \(unsafeRaw: RefundRequestState.processing.sql)
            """
        ).run()
    }

    /// `from` → `state`, once: false when another decision came first.
    public static func decide(
        _ id: UUID, from: RefundRequestState, as state: RefundRequestState, by staff: UUID, note: String, creditsTaken: Int64,
        amountRefunded: Int64, now: Date, on db: any Database
    ) async throws -> Bool {
        try await sqlDatabase(db).raw(
            """
            UPDATE refund_requests SET state = \(bind: state.rawValue), decided_by = \(bind: staff), decision_note = \(bind: note),
                credits_taken = \(bind: creditsTaken), amount_refunded_minor = \(bind: amountRefunded), decided_at = \(bind: now)
            WHERE id = \(bind: id) AND state = \(bind: from.rawValue) RETURNING id
            """
        ).first() != nil
    }
}

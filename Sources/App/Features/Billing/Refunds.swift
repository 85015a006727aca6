import Domain
import Fluent
import Foundation
import Payments
import Persistence
import Vapor

/// Why a refund request or decision cannot go ahead, in words for the person or staff.
enum RefundError: UserFacingError, Equatable {
    case notRefundable
    case alreadyRequested
    case reasonMissing
    case alreadyDecided
    case noteMissing
    case ownRequest
    case provider(String)

    var kind: FailureKind {
        switch self {
        case .notRefundable, .alreadyRequested, .alreadyDecided: .conflict
        case .reasonMissing, .noteMissing: .invalidInput
        case .ownRequest: .forbidden
        case .provider: .unavailable
        }
    }

    var userMessage: String {
        switch self {
        case .notRefundable: "This order cannot be refunded: it was not paid, is refunded already, or is disputed with your bank."
        case .alreadyRequested: "You have already asked for a refund of this order; staff will answer by email."
        case .reasonMissing: "Tell us why you want a refund (a sentence is enough, up to 1000 characters)."
        case .alreadyDecided: "Someone decided this request already."
        case .noteMissing: "Write the reason the person will see (up to 1000 characters)."
        case .ownRequest: "Another member of staff has to decide your own refund request."
        case .provider(let why): "The payment service did not make the refund: \(why). Nothing changed; try again later."
        }
    }
}

/// Refunds: a person asks, with a reason; staff approve or deny, with a reason they see.
/// An approval gives back the price of the order's unused credits through the provider (with
/// the request's id as the idempotency key: two approvals at once make one refund) and takes
/// those credits back with reversing entries; spent credits stay spent, so no balance goes
/// below zero, and the decision says how many were already used.
enum Refunds {
    static let reasonLimit = 1000

    static func request(order: OrderModel, by user: UUID, reason: String, app: Application, on db: any Database) async throws -> UUID {
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty, reason.count <= reasonLimit else { throw RefundError.reasonMissing }
        guard let orderID = order.id, order.state.isRefundable else { throw RefundError.notRefundable }
        guard try await !RefundRequestStore.of(order: orderID, on: db).contains(where: \.state.isOpen) else {
            throw RefundError.alreadyRequested
        }
        let now = app.pictor.clock.now()
        let request = RefundRequestModel()
        request.id = UUID()
        request.orderID = orderID
        request.userID = user
        request.reason = reason
        request.state = .requested
        request.creditsTaken = 0
        request.amountRefundedMinor = 0
        request.createdAt = now
        do {
            try await RefundRequestStore.insert(request, on: db)
        } catch let error as any DatabaseError where error.isConstraintFailure {
            throw RefundError.alreadyRequested  // another request for this order came first
        }
        return try request.requireID()
    }

    /// What an approval would do now: the order's unused credits and their price.
    static func quote(_ order: OrderModel, on db: any Database) async throws -> (unused: Int, amount: Int64) {
        var unused = 0
        if let lot = order.lotID { unused = try await LedgerStore.unused(inLot: lot, on: db) }
        return (unused, RefundMath.amount(forUnused: unused, of: Int(order.credits), paid: order.amountMinor, alreadyRefunded: order.refundedMinor))
    }

    /// Staff's decision. Returns the note the person sees.
    ///
    /// An approval first claims the request and takes the order's unused credits back, with the
    /// new refunded total, in one transaction: from then on nothing can spend them, and a second
    /// decision finds the request taken. Then the provider refunds (the request's id is the
    /// idempotency key). If it refuses, the credits and the total go back and the request waits
    /// again; if it agrees, the request is approved. Stripe's own `charge.refunded` event for it
    /// then finds the total already applied and changes nothing.
    static func decide(_ requestID: UUID, approve: Bool, note: String, staff: UUID, app: Application) async throws -> String {
        guard let request = try await RefundRequestStore.find(requestID, on: app.db),
            let order = try await OrderStore.find(request.orderID, on: app.db), let orderID = order.id
        else { throw AccessError.notFound }
        guard request.state == .requested else { throw RefundError.alreadyDecided }
        guard request.userID != staff else { throw RefundError.ownRequest }
        let now = app.pictor.clock.now()
        let staffNote = note.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !staffNote.isEmpty, staffNote.count <= reasonLimit else { throw RefundError.noteMissing }

        guard approve else {
            return try await writeTransaction(on: app.db) { tx in
                guard
                    try await RefundRequestStore.decide(
                        requestID, from: .requested, as: .denied, by: staff, note: staffNote, creditsTaken: 0, amountRefunded: 0, now: now, on: tx)
                else { throw RefundError.alreadyDecided }
                try await Audit.append(
                    "billing.refund.denied", actor: staff, target: ("refund", requestID.uuidString), origin: "staff", at: now, on: tx)
                try await mailDecision(order: order, approved: false, note: staffNote, app: app, on: tx)
                return staffNote
            }
        }
        let provider = app.pictor.payments
        guard order.provider == provider.name else {
            throw RefundError.provider("this order was paid through \(order.provider), which this server no longer uses; refund it there")
        }
        guard order.state.isRefundable, let payment = order.paymentReference else { throw RefundError.notRefundable }

        let claimed = try await writeTransaction(on: app.db) { tx in
            guard try await RefundRequestStore.claim(requestID, by: staff, on: tx), let current = try await OrderStore.find(orderID, on: tx) else {
                throw RefundError.alreadyDecided
            }
            // Looked at again under the claim: a dispute may have opened since (the claim rolls back).
            guard current.state.isRefundable, current.disputeStatus == nil || current.disputeStatus == "won" else {
                throw RefundError.notRefundable
            }
            let (unused, amount) = try await quote(current, on: tx)
            let applied = try await PaymentEvents.applyRefunded(
                current, total: current.refundedMinor + amount, reason: "Refund approved", now: now, on: tx)
            return (unused: unused, amount: amount, credits: applied.credits, recorded: applied.amount, lot: current.lotID, user: current.userID)
        }
        if claimed.amount > 0 {
            do {
                guard let money = Money(minorUnits: claimed.amount, currency: order.currency) else { throw PaymentError.declined("not an amount") }
                _ = try await provider.refund(RefundRequest(payment: payment, amount: money, idempotencyKey: requestID))
            } catch {
                try await writeTransaction(on: app.db) { tx in
                    try await OrderStore.lowerRefunded(orderID, by: claimed.recorded, now: now, on: tx)
                    if let lot = claimed.lot, let user = claimed.user {
                        try await LedgerStore.giveBack(
                            claimed.credits, toLot: lot, of: user, order: orderID, reason: "The refund did not go through: the credits are back",
                            now: now, on: tx)
                    }
                    try await RefundRequestStore.release(requestID, on: tx)
                }
                throw RefundError.provider(Self.describe(error))
            }
        }
        return try await writeTransaction(on: app.db) { tx in
            let used = Int(order.credits) - claimed.unused
            let fullNote =
                "\(staffNote) \(used) of \(order.credits) credits were already used or refunded. \(claimed.credits) credits and \(MoneyText.format(claimed.amount, currency: order.currency)) were refunded."
            guard
                try await RefundRequestStore.decide(
                    requestID, from: .processing, as: .approved, by: staff, note: fullNote, creditsTaken: Int64(claimed.credits),
                    amountRefunded: claimed.amount, now: now, on: tx)
            else { throw RefundError.alreadyDecided }
            try await Audit.append(
                "billing.refund.approved", actor: staff, target: ("refund", requestID.uuidString),
                detail: ["amount": String(claimed.amount), "credits": String(claimed.credits)], origin: "staff", at: now, on: tx)
            try await mailDecision(order: order, approved: true, note: fullNote, app: app, on: tx)
            return fullNote
        }
    }

    static func describe(_ error: any Error) -> String {
        switch error as? PaymentError {
        case .unavailable(let why), .declined(let why), .refused(let why): why
        case nil: "an unexpected error"
        }
    }

    private static func mailDecision(order: OrderModel, approved: Bool, note: String, app: Application, on db: any Database) async throws {
        guard let user = order.userID, let email = try await UserStore.find(user, on: db)?.email else { return }
        try await Postman.queue(
            BillingMail.refundDecision(to: email, order: order, approved: approved, note: note, app: app), userID: user, app: app, on: db)
    }
}

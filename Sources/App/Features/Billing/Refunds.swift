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
    case provider(String)

    var kind: FailureKind {
        switch self {
        case .notRefundable, .alreadyRequested, .alreadyDecided: .conflict
        case .reasonMissing: .invalidInput
        case .provider: .unavailable
        }
    }

    var userMessage: String {
        switch self {
        case .notRefundable: "This order cannot be refunded: it was not paid, is refunded already, or is disputed with your bank."
        case .alreadyRequested: "You have already asked for a refund of this order; staff will answer by email."
        case .reasonMissing: "Tell us why you want a refund (a sentence is enough, up to 1000 characters)."
        case .alreadyDecided: "Someone decided this request already."
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
        guard let orderID = order.id, [.paid, .partiallyRefunded].contains(order.state) else { throw RefundError.notRefundable }
        guard try await !RefundRequestStore.of(order: orderID, on: db).contains(where: { $0.state == .requested }) else {
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
        try await RefundRequestStore.insert(request, on: db)
        return try request.requireID()
    }

    /// What an approval would do now: the order's unused credits and their price.
    static func quote(_ order: OrderModel, on db: any Database) async throws -> (unused: Int, amount: Int64) {
        var unused = 0
        if let lot = order.lotID { unused = try await LedgerStore.unused(inLot: lot, on: db) }
        return (unused, RefundMath.amount(forUnused: unused, of: Int(order.credits), paid: order.amountMinor, alreadyRefunded: order.refundedMinor))
    }

    /// Staff's decision. Returns the note the person sees.
    static func decide(_ requestID: UUID, approve: Bool, note: String, staff: UUID, app: Application) async throws -> String {
        guard let request = try await RefundRequestStore.find(requestID, on: app.db), request.state == .requested,
            let order = try await OrderStore.find(request.orderID, on: app.db), let orderID = order.id
        else { throw RefundError.alreadyDecided }
        let now = app.pictor.clock.now()
        let staffNote = note.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !staffNote.isEmpty, staffNote.count <= reasonLimit else { throw RefundError.reasonMissing }

        guard approve else {
            return try await writeTransaction(on: app.db) { tx in
                guard
                    try await RefundRequestStore.decide(
                        requestID, as: .denied, by: staff, note: staffNote, creditsTaken: 0, amountRefunded: 0, now: now, on: tx)
                else { throw RefundError.alreadyDecided }
                try await Audit.append(
                    "billing.refund.denied", actor: staff, target: ("refund", requestID.uuidString), origin: "staff", at: now, on: tx)
                try await mailDecision(order: order, approved: false, note: staffNote, app: app, on: tx)
                return staffNote
            }
        }
        guard [.paid, .partiallyRefunded].contains(order.state), let payment = order.paymentReference else { throw RefundError.notRefundable }
        let (unused, amount) = try await quote(order, on: app.db)
        let target = order.refundedMinor + amount
        if amount > 0 {
            guard let money = Money(minorUnits: amount, currency: order.currency) else { throw RefundError.notRefundable }
            do {
                _ = try await app.pictor.payments.refund(RefundRequest(payment: payment, amount: money, idempotencyKey: requestID))
            } catch {
                throw RefundError.provider(Self.describe(error))
            }
        }
        return try await writeTransaction(on: app.db) { tx in
            // The provider's own event may have applied this refund already: then nothing more is taken.
            let current = try await OrderStore.find(orderID, on: tx) ?? order
            let applied = try await PaymentEvents.applyRefunded(current, total: target, reason: "Refund approved", now: now, on: tx)
            let used = Int(order.credits) - unused
            let fullNote =
                "\(staffNote) \(used) of \(order.credits) credits were already used. \(unused) credits and \(MoneyText.format(amount, currency: order.currency)) were refunded."
            guard
                try await RefundRequestStore.decide(
                    requestID, as: .approved, by: staff, note: fullNote, creditsTaken: Int64(applied.credits), amountRefunded: amount, now: now,
                    on: tx)
            else { throw RefundError.alreadyDecided }
            try await Audit.append(
                "billing.refund.approved", actor: staff, target: ("refund", requestID.uuidString),
                detail: ["amount": String(amount), "credits": String(applied.credits)], origin: "staff", at: now, on: tx)
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

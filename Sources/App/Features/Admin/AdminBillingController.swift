import Domain
import Foundation
import Payments
import Persistence
import Vapor

/// Staff's billing console: recent orders with their fraud signals, refund requests waiting
/// for a decision (support staff and up), open disputes, and credit corrections (admins only,
/// never on their own account). Every decision and correction is audited with the staff member
/// and the reason, and the reason reaches the person.
enum AdminBillingController {
    @Sendable static func page(req: Request) async throws -> View {
        let done = (try? req.query.get(String.self, at: "done")) == "adjusted"
        return try await render(
            req, adjustmentError: nil, notice: done ? .init(level: .success, text: "The correction was made and recorded in the audit log.") : nil)
    }

    static func render(_ req: Request, adjustmentError: String?, notice: LayoutContext.Flash?) async throws -> View {
        let staff = try req.requireUser()
        let orders = try await OrderStore.recent(states: nil, limit: 50, on: req.db)
        let disputed = try await OrderStore.recent(states: [.disputed], limit: 50, on: req.db)
        let waiting = try await RefundRequestStore.waiting(limit: 50, on: req.db)
        let emails = try await UserStore.emails(
            of: Set(orders.compactMap(\.userID) + disputed.compactMap(\.userID) + waiting.compactMap(\.userID)), on: req.db)
        let monthAgo = req.pictor.clock.now().addingTimeInterval(-30 * 86_400)
        var refunds: [AdminBillingPage.Refund] = []
        for request in waiting {
            guard let order = try await OrderStore.find(request.orderID, on: req.db) else { continue }
            let quote = try await Refunds.quote(order, on: req.db)
            var asked = 0
            if let person = request.userID { asked = try await RefundRequestStore.count(by: person, since: monthAgo, on: req.db) }
            refunds.append(
                AdminBillingPage.Refund(
                    action: SiteURL.adminRefundDecision.path(refund: request.id!), person: request.userID.flatMap { emails[$0] } ?? "erased account",
                    receipt: Receipt.number(of: order.id!), paid: MoneyText.format(order.amountMinor, currency: order.currency),
                    reason: request.reason, asked: request.createdAt.pageText,
                    quote:
                        "\(Int(order.credits) - quote.unused) of \(order.credits) credits used; approving refunds \(quote.unused) credits and \(MoneyText.format(quote.amount, currency: order.currency))",
                    abuse: asked >= FraudSignal.refundRequestsPerMonth ? "\(asked) refund requests in 30 days" : nil))
        }
        func row(_ order: OrderModel) -> AdminBillingPage.Order {
            AdminBillingPage.Order(
                receipt: Receipt.number(of: order.id!), person: order.userID.flatMap { emails[$0] } ?? "erased account", pack: order.packID,
                amount: MoneyText.format(order.amountMinor, currency: order.currency), state: order.state.label,
                refunded: order.refundedMinor > 0 ? MoneyText.format(order.refundedMinor, currency: order.currency) : "",
                risk: order.riskLevel ?? "", flags: order.fraudFlags, dispute: order.disputeStatus ?? "", created: order.createdAt.pageText)
        }
        try await Audit.record("admin.billing.viewed", actor: staff.id, request: req, on: req.db)
        return try await req.view.render(
            "admin/billing",
            AdminBillingPage(
                layout: .make(for: req, title: "Billing", flashes: notice.map { [$0] } ?? []), csrf: req.csrfToken,
                orders: orders.map(row), hasOrders: !orders.isEmpty, disputes: disputed.map(row), hasDisputes: !disputed.isEmpty,
                refunds: refunds, hasRefunds: !refunds.isEmpty, adjustmentError: adjustmentError, canAdjust: staff.role >= .admin))
    }

    struct DecisionForm: Content {
        var decision: String?
        var note: String?
    }

    @Sendable static func decide(req: Request) async throws -> Response {
        let staff = try req.requireUser()
        guard let id = req.parameters.get("refundID", as: UUID.self) else { throw AccessError.notFound }
        let form = try req.content.decode(DecisionForm.self)
        guard let decision = form.decision, ["approve", "deny"].contains(decision) else {
            throw Abort(.badRequest, reason: "Choose approve or deny.")
        }
        do {
            _ = try await Refunds.decide(id, approve: decision == "approve", note: form.note ?? "", staff: staff.id, app: req.application)
        } catch let error as RefundError {
            return try await render(req, adjustmentError: nil, notice: .init(level: .error, text: error.userMessage))
                .encodeResponse(status: ErrorResponse.status(for: error.kind), for: req)
        }
        return try await render(
            req, adjustmentError: nil, notice: .init(level: .success, text: decision == "approve" ? "Refund approved." : "Refund denied.")
        )
        .encodeResponse(for: req)
    }

    struct AdjustmentForm: Content {
        var email: String?
        var credits: String?
        var reason: String?
    }

    @Sendable static func adjust(req: Request) async throws -> Response {
        let staff = try req.requireUser()
        let form = try req.content.decode(AdjustmentForm.self)
        func refuse(_ text: String) async throws -> Response {
            try await render(req, adjustmentError: text, notice: nil).encodeResponse(status: .badRequest, for: req)
        }
        guard let email = form.email.flatMap(EmailAddress.normalize), let user = try await UserStore.find(email: email, on: req.db)?.id else {
            return try await refuse("No account has that email address.")
        }
        guard user != staff.id else { return try await refuse("Another admin has to correct your own balance.") }
        // Checked before any arithmetic: a whole number of credits within a million either way.
        guard let text = form.credits?.trimmingCharacters(in: .whitespaces), text.count <= 8, let credits = Int(text), credits != 0,
            (-1_000_000...1_000_000).contains(credits)
        else { return try await refuse("Enter a whole number of credits between -1000000 and 1000000, not 0 (negative takes credits back).") }
        guard let reason = form.reason?.trimmingCharacters(in: .whitespacesAndNewlines), (3...300).contains(reason.count) else {
            return try await refuse("Give a reason (3 to 300 characters): the person sees it in their history.")
        }
        let now = req.pictor.clock.now()
        try await writeTransaction(on: req.db) { tx in
            let changed = try await LedgerStore.adjust(credits, of: user, reason: reason, now: now, on: tx)
            try await Audit.record(
                "credits.adjusted", actor: staff.id, target: ("user", user.uuidString),
                detail: ["asked": String(credits), "changed": String(changed), "reason": reason], request: req, on: tx)
        }
        // Back to the page (a reload repeats nothing); the audit entry says what changed.
        return req.redirect(to: SiteURL.adminBilling.path + "?done=adjusted")
    }
}

struct AdminBillingPage: Encodable {
    struct Order: Encodable {
        let receipt: String
        let person: String
        let pack: String
        let amount: String
        let state: String
        let refunded: String
        let risk: String
        let flags: String
        let dispute: String
        let created: String
    }

    struct Refund: Encodable {
        let action: String
        let person: String
        let receipt: String
        let paid: String
        let reason: String
        let asked: String
        /// What an approval would do now (credits used, credits and money refunded).
        let quote: String
        /// The refund-abuse signal, when it is raised.
        let abuse: String?
    }

    let layout: LayoutContext
    let csrf: String
    let orders: [Order]
    let hasOrders: Bool
    let disputes: [Order]
    let hasDisputes: Bool
    let refunds: [Refund]
    let hasRefunds: Bool
    let adjustmentError: String?
    /// Only admins correct balances.
    let canAdjust: Bool
}

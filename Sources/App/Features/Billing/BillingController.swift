import Domain
import Foundation
import Payments
import Persistence
import Vapor

/// The person's billing pages: balance and packs, orders and receipts, refund requests, the
/// ledger with a running balance; and the offline checkout. Every order is looked up with its
/// owner: another person's is a 404, the same as one that does not exist.
enum BillingController {
    static let ordersPerPage = 20
    static let entriesPerPage = 25

    /// What a redirect back to a billing page says happened (fixed texts: nothing from the URL is shown).
    static let notices: [String: String] = [
        "refund-requested": "Your refund request was sent. Staff will answer by email, usually within two working days.",
        "paid": "Thank you: your payment went through and the credits are in your balance.",
        "pending": "Your payment is being processed. The credits arrive as soon as your bank confirms it.",
        "failed": "The payment did not go through. Nothing was charged.",
    ]

    @Sendable static func overview(req: Request) async throws -> View {
        try await renderOverview(req, purchaseError: nil)
    }

    static func renderOverview(_ req: Request, purchaseError: String?) async throws -> View {
        let user = try req.requireUser()
        let balance = try await LedgerStore.balance(of: user.id, on: req.db)
        let cursor = (try? req.query.get(String.self, at: "after")).flatMap(LedgerCursor.parse)
        let entries = try await LedgerStore.entries(of: user.id, after: cursor, limit: entriesPerPage + 1, on: req.db)
        let orders = try await OrderStore.page(of: user.id, before: nil, limit: ordersPerPage, on: req.db)
        let shown = entries.prefix(entriesPerPage)
        let next = entries.count > entriesPerPage ? shown.last.flatMap { LedgerCursor.after($0.entry) } : nil
        let notice = (try? req.query.get(String.self, at: "done")).flatMap { notices[$0] }
        return try await req.view.render(
            "billing/overview",
            BillingPage(
                layout: .make(for: req, title: "Credits and billing", flashes: notice.map { [.init(level: .success, text: $0)] } ?? []),
                csrf: req.csrfToken, available: balance.available, held: balance.held,
                packs: req.pictor.config.packs.map { pack in
                    BillingPage.Pack(id: pack.id, name: pack.name, credits: pack.credits, price: pack.priceText)
                },
                purchaseError: purchaseError,
                offline: req.pictor.payments.name == "offline",
                orders: orders.map { BillingPage.Order(order: $0) }, hasOrders: !orders.isEmpty,
                entries: shown.map { BillingPage.Entry(entry: $0.entry, balanceAfter: $0.balanceAfter) }, hasEntries: !shown.isEmpty,
                nextPage: next.map { "?after=\($0)" }, isLaterPage: cursor != nil))
    }

    struct CheckoutForm: Content {
        var pack: String?
    }

    @Sendable static func checkout(req: Request) async throws -> Response {
        let user = try req.requireUser()
        let form = try req.content.decode(CheckoutForm.self)
        guard let account = try await UserStore.find(user.id, on: req.db) else { throw AccessError.notFound }
        do {
            let url = try await Purchases.start(pack: form.pack ?? "", user: account, network: req.ipPrefix, app: req.application)
            return req.redirect(to: url.absoluteString, redirectType: .normal)
        } catch let error as PurchaseError {
            let status: HTTPStatus =
                switch error {
                case .noSuchPack: .badRequest
                case .tooMany: .tooManyRequests
                case .providerUnavailable, .providerDeclined: .serviceUnavailable
                }
            return try await renderOverview(req, purchaseError: error.userMessage).encodeResponse(status: status, for: req)
        }
    }

    /// An order of the signed-in person's (404 for anyone else's).
    static func ownedOrder(_ req: Request) async throws -> OrderModel {
        let user = try req.requireUser()
        guard let id = req.parameters.get("orderID", as: UUID.self), let order = try await OrderStore.find(id, ownedBy: user.id, on: req.db)
        else { throw AccessError.notFound }
        return order
    }

    @Sendable static func order(req: Request) async throws -> View {
        try await renderOrder(req, order: try await ownedOrder(req), reasonError: nil, reason: "")
    }

    static func renderOrder(_ req: Request, order: OrderModel, reasonError: String?, reason: String) async throws -> View {
        let requests = try await RefundRequestStore.of(order: order.id!, on: req.db)
        let notice = (try? req.query.get(String.self, at: "done")).flatMap { notices[$0] }
        let canAsk = order.state.isRefundable && !requests.contains(where: \.state.isOpen)
        return try await req.view.render(
            "billing/order",
            OrderPage(
                layout: .make(
                    for: req, title: "Receipt \(Receipt.number(of: order.id!))", flashes: notice.map { [.init(level: .info, text: $0)] } ?? []),
                csrf: req.csrfToken, order: .init(order: order), packName: PaymentEvents.packName(order.packID, app: req.application),
                paidAt: order.paidAt?.pageText, provider: order.provider == "offline" ? "Offline checkout (no money moved)" : "Card, through Stripe",
                refunded: order.refundedMinor > 0 ? MoneyText.format(order.refundedMinor, currency: order.currency) : nil,
                requests: requests.map { request in
                    OrderPage.Request(
                        asked: request.createdAt.pageText, reason: request.reason, state: request.state.rawValue,
                        decision: request.decisionNote, decided: request.decidedAt?.pageText)
                },
                hasRequests: !requests.isEmpty, canAskForRefund: canAsk, reason: reason, reasonError: reasonError,
                offlineCheckout: order.provider == "offline" && req.pictor.payments.name == "offline"
                    ? SiteURL.offlineCheckout.path(order: order.id!) : nil))
    }

    struct RefundForm: Content {
        var reason: String?
    }

    @Sendable static func requestRefund(req: Request) async throws -> Response {
        let user = try req.requireUser()
        let order = try await ownedOrder(req)
        let form = try req.content.decode(RefundForm.self)
        do {
            let id = try await Refunds.request(order: order, by: user.id, reason: form.reason ?? "", app: req.application, on: req.db)
            try await Audit.record("billing.refund.requested", actor: user.id, target: ("refund", id.uuidString), request: req, on: req.db)
            return req.redirect(to: SiteURL.billingOrder.path(order: order.id!) + "?done=refund-requested")
        } catch let error as RefundError {
            let status = ErrorResponse.status(for: error.kind)
            return try await renderOrder(
                req, order: order, reasonError: error.userMessage, reason: String((form.reason ?? "").prefix(Refunds.reasonLimit))
            )
            .encodeResponse(status: status, for: req)
        }
    }
}

/// A ledger page's position: the last entry shown, as a cursor token (its time and id).
enum LedgerCursor {
    /// Nil for anything Pictor did not write (checked: no trap on any number).
    static func parse(_ text: String) -> (at: Date, id: UUID)? {
        CursorToken.parse(text).map { (Date(milliseconds: Int64($0.milliseconds)), $0.id) }
    }

    static func after(_ entry: LedgerEntryModel) -> String? {
        entry.id.map { CursorToken.make(milliseconds: entry.createdAt.milliseconds, id: $0) }
    }
}

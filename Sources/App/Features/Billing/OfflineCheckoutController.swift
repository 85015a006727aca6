import Domain
import Foundation
import Payments
import Persistence
import Vapor

/// The offline provider's checkout page: pay, decline, pay later (then the bank approves or
/// declines), and for a paid order, a dispute opened and closed. Each button makes the event
/// Stripe would send, signed, and hands it to the same code as `/webhooks/stripe`. Only the
/// order's owner sees it, and only while payments are offline.
enum OfflineCheckoutController {
    static func offline(_ req: Request) throws -> OfflinePaymentProvider {
        guard let offline = req.pictor.payments as? OfflinePaymentProvider else { throw AccessError.notFound }
        return offline
    }

    /// The person's order, if the offline checkout took it (an order of Stripe's is none of this page's).
    static func offlineOrder(_ req: Request) async throws -> OrderModel {
        let order = try await BillingController.ownedOrder(req)
        guard order.provider == "offline" else { throw AccessError.notFound }
        return order
    }

    @Sendable static func page(req: Request) async throws -> View {
        _ = try offline(req)
        let order = try await offlineOrder(req)
        let processing = try await OrderStore.isProcessing(order.id!, on: req.db)
        func offers(_ action: OfflinePaymentProvider.Action) -> Bool { Self.offers(action, order: order, processing: processing) }
        return try await req.view.render(
            "billing/offline-checkout",
            OfflineCheckoutPage(
                layout: .make(for: req, title: "Offline checkout"), csrf: req.csrfToken, action: SiteURL.offlineCheckout.path(order: order.id!),
                order: .init(order: order), packName: PaymentEvents.packName(order.packID, app: req.application),
                canPay: offers(.pay), canDecide: offers(.bankApproves), canDispute: offers(.openDispute),
                canCloseDispute: offers(.closeDispute(won: true)), processing: processing))
    }

    /// Whether the page offers `action` for the order as it stands: the page shows exactly these
    /// buttons, and a post of any other is refused (the bank cannot dispute a payment never made).
    static func offers(_ action: OfflinePaymentProvider.Action, order: OrderModel, processing: Bool) -> Bool {
        switch action {
        case .pay, .payLater, .abandon: order.state == .pending && !processing
        case .bankApproves, .bankDeclines: order.state == .pending && processing
        case .openDispute: order.state.isRefundable && order.disputeStatus == nil
        case .closeDispute: order.state == .disputed && order.disputeStatus == "open"
        }
    }

    struct ActionForm: Content {
        var action: String?
    }

    @Sendable static func act(req: Request) async throws -> Response {
        let provider = try offline(req)
        let order = try await offlineOrder(req)
        let form = try req.content.decode(ActionForm.self)
        let actions: [String: OfflinePaymentProvider.Action] = [
            "pay": .pay, "pay-later": .payLater, "bank-approves": .bankApproves, "bank-declines": .bankDeclines, "abandon": .abandon,
            "open-dispute": .openDispute, "dispute-won": .closeDispute(won: true), "dispute-lost": .closeDispute(won: false),
        ]
        guard let action = form.action.flatMap({ actions[$0] }), let amount = Money(minorUnits: order.amountMinor, currency: order.currency) else {
            throw Abort(.badRequest, reason: "Choose one of the buttons on the checkout page.")
        }
        guard Self.offers(action, order: order, processing: try await OrderStore.isProcessing(order.id!, on: req.db)) else {
            throw Abort(.conflict, reason: "That step is not possible for this order now. Go back to the checkout page.")
        }
        let now = req.pictor.clock.now()
        let event = try provider.event(from: provider.delivery(of: action, order: order.id!, amount: amount, now: now), now: now)
        _ = try await PaymentEvents.apply(event, provider: provider, app: req.application)
        let orderPage = SiteURL.billingOrder.path(order: order.id!)
        switch action {
        case .pay, .bankApproves: return req.redirect(to: orderPage + "?done=paid")
        case .payLater: return req.redirect(to: orderPage + "?done=pending")
        case .bankDeclines, .abandon: return req.redirect(to: SiteURL.billing.path + "?done=failed")
        case .openDispute, .closeDispute: return req.redirect(to: SiteURL.offlineCheckout.path(order: order.id!))
        }
    }
}

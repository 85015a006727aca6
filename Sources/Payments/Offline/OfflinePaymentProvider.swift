import Foundation

/// Payments with no processor and no network: the default, so the whole purchase flow (and its
/// tests) runs anywhere. Its checkout is a page of Pictor's own where the person plays both
/// payer and bank: pay, decline, pay later and then succeed or fail, and later open or close a
/// dispute. Each of those becomes an event written exactly as Stripe writes its events, signed
/// with a local secret as Stripe signs them, and goes through the same webhook handler: so the
/// offline flow exercises the very code that applies Stripe's events. No money moves.
public struct OfflinePaymentProvider: PaymentProvider {
    /// What the person does on the offline checkout page.
    public enum Action: Sendable, Equatable {
        case pay
        /// "Pay later": the checkout completes unpaid; the bank decides later.
        case payLater
        case bankApproves
        case bankDeclines
        /// The person abandons the checkout (the card is declined, or they give up).
        case abandon
        case openDispute
        case closeDispute(won: Bool)
    }

    public let name = "offline"
    let secret: String
    let payPage: @Sendable (UUID) -> URL

    /// `secret` signs and checks the events (derived from the server's secret key);
    /// `payPage` is the address of an order's offline checkout page.
    public init(secret: String, payPage: @escaping @Sendable (UUID) -> URL) {
        self.secret = secret
        self.payPage = payPage
    }

    public func startCheckout(_ request: CheckoutRequest) async throws(PaymentError) -> CheckoutSession {
        CheckoutSession(reference: "offline_cs_\(request.orderID.uuidString.lowercased())", payURL: payPage(request.orderID))
    }

    public func event(from delivery: WebhookDelivery, now: Date) throws(PaymentError) -> PaymentEvent {
        guard let header = delivery.headers["stripe-signature"],
            StripeSignature.isAuthentic(header: header, body: delivery.body, secret: secret, now: now)
        else { throw .refused("the signature of this offline payment event does not hold") }
        return try StripeEvent.parse(delivery.body)
    }

    public func refund(_ request: RefundRequest) async throws(PaymentError) -> RefundReceipt {
        RefundReceipt(reference: "offline_re_\(request.idempotencyKey.uuidString.lowercased())", pending: false)
    }

    public func payment(_ reference: String) async throws(PaymentError) -> PaymentFacts {
        guard reference.hasPrefix("offline_pi_"), let order = UUID(uuidString: String(reference.dropFirst("offline_pi_".count))) else {
            throw .declined("not an offline payment reference")
        }
        return PaymentFacts(orderID: order, paid: true, amount: nil, cardFingerprint: "offline-test-card", riskLevel: "normal")
    }

    /// The payment reference the offline checkout gives an order's money.
    public static func paymentReference(of order: UUID) -> String { "offline_pi_\(order.uuidString.lowercased())" }

    /// The signed delivery of what `action` on `order` (for `amount`) makes happen, as Stripe
    /// would send it to the webhook at `now`.
    public func delivery(of action: Action, order: UUID, amount: Money, now: Date) -> WebhookDelivery {
        let orderText = order.uuidString
        let payment = Self.paymentReference(of: order)
        func session(paymentStatus: String, status: String = "complete") -> [String: Any] {
            [
                "id": "offline_cs_\(orderText.lowercased())", "object": "checkout.session", "client_reference_id": orderText,
                "metadata": ["order_id": orderText], "mode": "payment", "status": status, "payment_status": paymentStatus,
                "amount_total": amount.minorUnits, "currency": amount.currency.lowercased(),
                "payment_intent": paymentStatus == "paid" || status == "complete" ? payment : NSNull(),
            ]
        }
        func dispute(status: String) -> [String: Any] {
            [
                "id": "offline_du_\(orderText.lowercased())", "object": "dispute", "amount": amount.minorUnits,
                "currency": amount.currency.lowercased(), "charge": "offline_ch_\(orderText.lowercased())", "payment_intent": payment,
                "status": status, "reason": "fraudulent",
            ]
        }
        let (type, object): (String, [String: Any]) =
            switch action {
            case .pay: ("checkout.session.completed", session(paymentStatus: "paid"))
            case .payLater: ("checkout.session.completed", session(paymentStatus: "unpaid"))
            case .bankApproves: ("checkout.session.async_payment_succeeded", session(paymentStatus: "paid"))
            case .bankDeclines: ("checkout.session.async_payment_failed", session(paymentStatus: "unpaid"))
            case .abandon: ("checkout.session.expired", session(paymentStatus: "unpaid", status: "expired"))
            case .openDispute: ("charge.dispute.created", dispute(status: "needs_response"))
            case .closeDispute(let won): ("charge.dispute.closed", dispute(status: won ? "won" : "lost"))
            }
        let seconds = Int64(now.timeIntervalSince1970)
        let event: [String: Any] = [
            "id": "evt_offline_\(UUID().uuidString.lowercased())", "object": "event", "type": type, "created": seconds,
            "livemode": false, "data": ["object": object],
        ]
        let body = Array((try? JSONSerialization.data(withJSONObject: event, options: [.sortedKeys])) ?? Data())
        return WebhookDelivery(
            body: body, headers: ["stripe-signature": StripeSignature.header(for: body, secret: secret, timestamp: seconds)])
    }
}

import Foundation

/// Reads a Stripe event (already verified) into what Pictor acts on. Only the fields used are
/// read; an event of another type, or about a checkout Pictor did not start, is `.ignored`, and
/// one of a known type missing what it needs is refused (a delivery Pictor cannot apply must not
/// count as applied).
public enum StripeEvent {
    public static func parse(_ body: [UInt8]) throws(PaymentError) -> PaymentEvent {
        guard let event = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any],
            let id = event["id"] as? String, let type = event["type"] as? String,
            let object = (event["data"] as? [String: Any])?["object"] as? [String: Any]
        else { throw .refused("the body is not a Stripe event") }
        func missing(_ field: String) -> PaymentError { .refused("\(type) \(id) has no \(field)") }

        switch type {
        case "checkout.session.completed", "checkout.session.async_payment_succeeded":
            // A checkout Pictor did not start (a payment link, another app on the account) is not its business.
            guard let order = orderID(of: object) else { return PaymentEvent(id: id, type: type, kind: .ignored) }
            let status = object["payment_status"] as? String
            // "no_payment_required" never applies: every pack has a price.
            guard status == "paid" else { return PaymentEvent(id: id, type: type, kind: .processing(orderID: order)) }
            guard let payment = object["payment_intent"] as? String else { throw missing("payment_intent") }
            guard let amount = money(object["amount_total"], object["currency"]) else { throw missing("amount_total") }
            return PaymentEvent(id: id, type: type, kind: .paid(orderID: order, payment: payment, amount: amount))
        case "checkout.session.async_payment_failed", "checkout.session.expired":
            guard let order = orderID(of: object) else { return PaymentEvent(id: id, type: type, kind: .ignored) }
            return PaymentEvent(id: id, type: type, kind: .failed(orderID: order))
        case "charge.refunded":
            guard let payment = object["payment_intent"] as? String else { throw missing("payment_intent") }
            guard let refunded = money(object["amount_refunded"], object["currency"]) else { throw missing("amount_refunded") }
            return PaymentEvent(id: id, type: type, kind: .refunded(payment: payment, totalRefunded: refunded))
        case "charge.dispute.created", "charge.dispute.closed":
            guard let payment = object["payment_intent"] as? String else { throw missing("payment_intent") }
            guard let dispute = object["id"] as? String else { throw missing("dispute id") }
            if type == "charge.dispute.created" {
                return PaymentEvent(id: id, type: type, kind: .disputeOpened(payment: payment, dispute: dispute))
            }
            // Only `lost` takes the money back: `won`, and an inquiry's `warning_closed` or a
            // `prevented` one, leave it with the merchant.
            return PaymentEvent(
                id: id, type: type, kind: .disputeClosed(payment: payment, dispute: dispute, won: object["status"] as? String != "lost"))
        default:
            return PaymentEvent(id: id, type: type, kind: .ignored)
        }
    }

    static func orderID(of session: [String: Any]) -> UUID? {
        (session["client_reference_id"] as? String).flatMap(UUID.init(uuidString:))
            ?? ((session["metadata"] as? [String: Any])?["order_id"] as? String).flatMap(UUID.init(uuidString:))
    }

    /// An amount as Stripe writes it (an integer in the minor unit, a lower-case currency).
    static func money(_ amount: Any?, _ currency: Any?) -> Money? {
        guard let number = amount as? NSNumber, let currency = currency as? String else { return nil }
        // JSON numbers arrive as NSNumber; only whole, in-range values are amounts.
        let value = number.doubleValue
        guard value.rounded() == value, value >= 0, value < 1e15 else { return nil }
        return Money(minorUnits: Int64(value), currency: currency.uppercased())
    }
}

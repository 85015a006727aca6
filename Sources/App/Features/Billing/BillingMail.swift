import Domain
import Mail
import Persistence
import Vapor

/// The mail billing sends: a receipt for each paid order, and a refund decision.
enum BillingMail {
    static func receipt(for order: OrderModel, packName: String, to email: String, app: Application) -> MailMessage {
        let id = order.id ?? UUID()
        let receipt = app.pictor.config.link(to: SiteURL.billingOrder.path(order: id)).absoluteString
        return MailMessage(
            to: email, subject: "Your Pictor receipt \(Receipt.number(of: id))",
            text: """
                Thank you for your purchase.

                Receipt:  \(Receipt.number(of: id))
                Date:     \((order.paidAt ?? order.createdAt).formatted(.iso8601))
                Item:     \(packName) pack, \(order.credits) credits
                Paid:     \(MoneyText.format(order.amountMinor, currency: order.currency))
                Payment:  \(order.provider == "offline" ? "offline checkout (no money moved)" : "card, through \(order.provider.capitalized)")

                The credits are in your balance now. See this receipt, and ask for a refund, at
                \(receipt)
                """,
            category: .payment)
    }

    static func refundDecision(to email: String, order: OrderModel, approved: Bool, note: String, app: Application) -> MailMessage {
        let id = order.id ?? UUID()
        let receipt = app.pictor.config.link(to: SiteURL.billingOrder.path(order: id)).absoluteString
        return MailMessage(
            to: email, subject: approved ? "Your Pictor refund was approved" : "Your Pictor refund request was declined",
            text: """
                About your order \(Receipt.number(of: id)):

                \(note)

                Details: \(receipt)
                """,
            category: .payment)
    }
}

/// How an order is named to people: a short receipt number.
enum Receipt {
    static func number(of order: UUID) -> String {
        "P-" + order.uuidString.replacingOccurrences(of: "-", with: "").prefix(10).uppercased()
    }
}

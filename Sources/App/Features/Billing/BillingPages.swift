import Domain
import Foundation
import Persistence

/// `billing/overview`: balance, packs, orders, the ledger.
struct BillingPage: Encodable {
    struct Pack: Encodable {
        let id: String
        let name: String
        let credits: Int
        let price: String
    }

    struct Order: Encodable {
        let receipt: String
        let url: String
        let refundURL: String
        let pack: String
        let credits: Int64
        let amount: String
        let state: String
        let created: String

        init(order: OrderModel) {
            receipt = Receipt.number(of: order.id!)
            url = SiteURL.billingOrder.path(order: order.id!)
            refundURL = SiteURL.billingRefundRequest.path(order: order.id!)
            pack = order.packID
            credits = order.credits
            amount = MoneyText.format(order.amountMinor, currency: order.currency)
            state = order.state.label
            created = order.createdAt.pageText
        }
    }

    struct Entry: Encodable {
        let time: String
        let what: String
        let change: String
        let balance: Int

        init(entry: LedgerEntryModel, balanceAfter: Int) {
            time = entry.createdAt.pageText
            let total = entry.availableDelta + entry.heldDelta
            change = total > 0 ? "+\(total)" : total == 0 ? "±0" : "\(total)"
            balance = balanceAfter
            let base: String =
                switch entry.kind {
                case .purchase: "Bought"
                case .grant: "Free credits"
                case .hold: "Held for a generation"
                case .capture: "Spent on a generation"
                case .release: "Given back (not delivered)"
                case .refund: "Taken back with a refund"
                case .dispute: "Dispute"
                case .expiry: "Free credits expired"
                case .adjustment: "Correction by staff"
                }
            what = entry.reason.map { "\(base): \($0)" } ?? base
        }
    }

    let layout: LayoutContext
    let csrf: String
    let available: Int
    let held: Int
    let packs: [Pack]
    /// Why the last checkout could not start, shown beside the packs.
    let purchaseError: String?
    let offline: Bool
    let orders: [Order]
    let hasOrders: Bool
    let entries: [Entry]
    let hasEntries: Bool
    let nextPage: String?
    let isLaterPage: Bool
}

/// `billing/order`: one order's receipt, its refund requests and the form to ask for one.
struct OrderPage: Encodable {
    struct Request: Encodable {
        let asked: String
        let reason: String
        let state: String
        let decision: String?
        let decided: String?
    }

    let layout: LayoutContext
    let csrf: String
    let order: BillingPage.Order
    let packName: String
    let paidAt: String?
    let provider: String
    let refunded: String?
    let requests: [Request]
    let hasRequests: Bool
    let canAskForRefund: Bool
    let reason: String
    let reasonError: String?
    /// The offline checkout's page for this order (the default provider), where its states are walked.
    let offlineCheckout: String?
}

/// `billing/offline-checkout`: the offline provider's pay page, where the person plays payer and bank.
struct OfflineCheckoutPage: Encodable {
    let layout: LayoutContext
    let csrf: String
    let action: String
    let order: BillingPage.Order
    let packName: String
    let canPay: Bool
    let canDecide: Bool
    let canDispute: Bool
    let canCloseDispute: Bool
    let processing: Bool
}

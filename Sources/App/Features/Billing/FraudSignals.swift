import Foundation
import Persistence

/// Signs staff should look at before trusting a purchase, or a refund request. They flag; they
/// do not refuse (except the velocity limits on starting a checkout, `Purchases.start`).
enum FraudSignal: String, CaseIterable {
    /// The same card paid for more than `cardPerDay` orders in a day (across accounts).
    case cardVelocity = "card-velocity"
    /// The processor judged the payment risky (`elevated` or `highest`).
    case processorRisk = "processor-risk"
    /// What was paid is not what the order asked (a changed checkout): no credits were added.
    case amountMismatch = "amount-mismatch"
    /// The person asked for `refundRequestsPerMonth` or more refunds in 30 days.
    case refundAbuse = "refund-abuse"
    /// Money arrived for an order whose account was erased in the meantime: staff refund it.
    case accountErased = "account-erased"

    static let cardPerDay = 5
    static let refundRequestsPerMonth = 3

    /// The signals a payment raises, given the orders the same card paid for in the last day
    /// (this one included).
    static func forPayment(riskLevel: String?, cardOrdersToday: Int) -> [FraudSignal] {
        var signals: [FraudSignal] = []
        if cardOrdersToday > cardPerDay { signals.append(.cardVelocity) }
        if riskLevel == "elevated" || riskLevel == "highest" { signals.append(.processorRisk) }
        return signals
    }
}

/// Limits on starting checkouts, so a stolen account or a script cannot test cards through
/// Pictor (card testing): per account and per network, each in an hour.
enum PurchaseVelocity {
    static let perAccountPerHour = 10
    static let perNetworkPerHour = 30
}

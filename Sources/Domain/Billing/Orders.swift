import Foundation

/// Where an order for credits stands. Credits arrive only when it becomes `paid`, and only from
/// a verified payment event.
public enum OrderState: String, Sendable, Codable, CaseIterable {
    /// Checkout started; no payment yet (or one that is still processing).
    case pending
    case paid
    /// The payment did not go through (declined, or a "pay later" that failed).
    case failed
    case partiallyRefunded = "partially_refunded"
    case refunded
    /// The payer's bank is disputing the charge: the order's unused credits are frozen.
    case disputed

    /// What the person reads.
    public var label: String {
        switch self {
        case .pending: "Waiting for payment"
        case .paid: "Paid"
        case .failed: "Payment failed"
        case .partiallyRefunded: "Partly refunded"
        case .refunded: "Refunded"
        case .disputed: "Disputed"
        }
    }

    /// Paid, with something left to refund.
    public var isRefundable: Bool { self == .paid || self == .partiallyRefunded }

    /// A paid order's state once `refunded` of its `amount` has gone back (no dispute open).
    public static func paid(refunded: Int64, of amount: Int64) -> OrderState {
        refunded <= 0 ? .paid : refunded >= amount ? .refunded : .partiallyRefunded
    }
}

/// A refund request and what staff decided. `processing` while an approval's refund is with
/// the payment provider (its credits are already taken back; they return if it fails).
public enum RefundRequestState: String, Sendable, Codable, CaseIterable {
    case requested, processing, approved, denied

    /// Not decided yet: an order has at most one such request.
    public var isOpen: Bool { self == .requested || self == .processing }
}

/// The arithmetic of giving money back for credits, in one place. All values are checked
/// against each other first; nothing here can trap.
public enum RefundMath {
    /// What refunding an order's unused credits gives back: the share of the price those
    /// credits were bought for (rounded down: never more than was paid for them), capped by
    /// what has not been refunded already.
    public static func amount(forUnused unused: Int, of credits: Int, paid amount: Int64, alreadyRefunded: Int64) -> Int64 {
        guard credits > 0, amount > 0, unused > 0 else { return 0 }
        let share = Int64(min(unused, credits))
        let (product, overflow) = amount.multipliedReportingOverflow(by: share)
        let proRata = overflow ? amount / Int64(credits) * share : product / Int64(credits)
        return max(0, min(proRata, amount - max(0, alreadyRefunded)))
    }

    /// The credits a refund of `delta` (of an order paid `amount` for `credits`) takes back:
    /// the share it paid for, rounded up, never more than `unused` (what is left of the order's
    /// credits: spent credits are never taken back, so no balance goes below zero).
    public static func credits(forRefunded delta: Int64, of credits: Int, paid amount: Int64, unused: Int) -> Int {
        guard delta > 0, amount > 0, credits > 0, unused > 0 else { return 0 }
        let refunded = min(delta, amount)
        let (product, overflow) = refunded.multipliedReportingOverflow(by: Int64(credits))
        let share = overflow ? Int64(credits) : (product + amount - 1) / amount
        return Int(min(share, Int64(min(unused, credits))))
    }
}

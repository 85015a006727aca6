import Foundation

/// Takes money for credits. Implementations (one folder each, built with billing): Stripe, and
/// an offline checkout that walks the same states with no network (the default).
///
/// Credits are granted only from a verified event (`event(from:)`), never from a checkout's
/// return page: a person can open that page without paying.
public protocol PaymentProvider: Sendable {
    /// Stored on each order and each applied event: `stripe`, `offline`.
    var name: String { get }
    /// Starts a hosted checkout for one order; the person is sent to `CheckoutSession.payURL`.
    /// The same `request.idempotencyKey` gives the same session, so a retried call never makes two.
    func startCheckout(_ request: CheckoutRequest) async throws(PaymentError) -> CheckoutSession
    /// The event a webhook delivery carries, once its signature over the raw body holds and it
    /// is not older than the provider's tolerance at `now`; `.refused` otherwise, before any parsing.
    func event(from delivery: WebhookDelivery, now: Date) throws(PaymentError) -> PaymentEvent
    /// Gives back `amount` of a paid order (never more than was paid and not yet refunded).
    func refund(_ request: RefundRequest) async throws(PaymentError) -> RefundReceipt
    /// The payment as the provider has it now: read again when an event comes before the one it
    /// depends on (a refund before the payment), and for the card's fingerprint and risk verdict.
    func payment(_ reference: String) async throws(PaymentError) -> PaymentFacts
}

/// A payment as the provider reports it. No card data: the processor's fingerprint of the card
/// (the same card gives the same one) and its risk verdict at most.
public struct PaymentFacts: Sendable, Equatable {
    /// Pictor's order id, from the metadata the checkout carried; nil when it has none.
    public let orderID: UUID?
    public let paid: Bool
    public let amount: Money?
    public let cardFingerprint: String?
    /// The processor's verdict: `normal`, `elevated`, `highest`, or nil when it gave none.
    public let riskLevel: String?

    public init(orderID: UUID?, paid: Bool, amount: Money?, cardFingerprint: String?, riskLevel: String?) {
        self.orderID = orderID
        self.paid = paid
        self.amount = amount
        self.cardFingerprint = cardFingerprint
        self.riskLevel = riskLevel
    }
}

/// An amount in a currency's minor unit (cents for USD, yen for JPY): never a floating point.
public struct Money: Sendable, Hashable, Codable, CustomStringConvertible {
    public let minorUnits: Int64
    /// ISO 4217, upper case: `USD`, `EUR`, `JPY`.
    public let currency: String

    /// Nil unless `minorUnits` is zero or more and `currency` is three letters A–Z.
    public init?(minorUnits: Int64, currency: String) {
        guard minorUnits >= 0, currency.utf8.count == 3, currency.utf8.allSatisfy({ (65...90).contains($0) }) else { return nil }
        self.minorUnits = minorUnits
        self.currency = currency
    }

    /// The sum, or nil when the currencies differ or it would not fit (never a trap).
    public func adding(_ other: Money) -> Money? {
        guard other.currency == currency else { return nil }
        let (sum, overflow) = minorUnits.addingReportingOverflow(other.minorUnits)
        return overflow ? nil : Money(minorUnits: sum, currency: currency)
    }

    /// What is left after taking `other` away, or nil when it is more than this (or another currency).
    public func subtracting(_ other: Money) -> Money? {
        guard other.currency == currency, other.minorUnits <= minorUnits else { return nil }
        return Money(minorUnits: minorUnits - other.minorUnits, currency: currency)
    }

    public var description: String { "\(minorUnits) \(currency) minor units" }
}

public struct CheckoutRequest: Sendable, Equatable {
    /// Pictor's order id: it comes back in the events about this checkout.
    public let orderID: UUID
    public let amount: Money
    /// What the person sees on the payment page, e.g. "100 credits".
    public let description: String
    public let customerEmail: String?
    public let successURL: URL
    public let cancelURL: URL
    public let idempotencyKey: UUID

    public init(orderID: UUID, amount: Money, description: String, customerEmail: String?, successURL: URL, cancelURL: URL, idempotencyKey: UUID) {
        self.orderID = orderID
        self.amount = amount
        self.description = description
        self.customerEmail = customerEmail
        self.successURL = successURL
        self.cancelURL = cancelURL
        self.idempotencyKey = idempotencyKey
    }
}

public struct CheckoutSession: Sendable, Equatable {
    /// The provider's id for the checkout (stored on the order; never card data).
    public let reference: String
    public let payURL: URL

    public init(reference: String, payURL: URL) {
        self.reference = reference
        self.payURL = payURL
    }
}

/// A webhook request as received: the body exactly as sent (the signature covers its bytes).
public struct WebhookDelivery: Sendable {
    public let body: [UInt8]
    /// Header names lower-cased.
    public let headers: [String: String]

    public init(body: [UInt8], headers: [String: String]) {
        self.body = body
        self.headers = headers
    }
}

/// What a verified event says happened. `id` is the provider's event id: stored unique, so a
/// delivery that comes again changes nothing.
public struct PaymentEvent: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The order is paid (for a checkout, only when the provider says it is paid). `payment`
        /// is the provider's reference for the money taken (a Stripe PaymentIntent).
        case paid(orderID: UUID, payment: String, amount: Money)
        /// The checkout ended, but the money comes later (a bank debit, "pay later").
        case processing(orderID: UUID)
        /// A payment that was pending failed, or a checkout expired unpaid.
        case failed(orderID: UUID)
        /// The payment's refunded total is now `totalRefunded` (cumulative: apply the difference).
        case refunded(payment: String, totalRefunded: Money)
        case disputeOpened(payment: String, dispute: String)
        case disputeClosed(payment: String, dispute: String, won: Bool)
        /// Verified, but not one Pictor acts on.
        case ignored
    }

    /// The provider's name for what happened (`checkout.session.completed`): stored with the id.
    public let type: String
    public let id: String
    public let kind: Kind

    public init(id: String, type: String, kind: Kind) {
        self.id = id
        self.type = type
        self.kind = kind
    }
}

public struct RefundRequest: Sendable, Equatable {
    /// The payment's reference (`PaymentEvent.Kind.paid`'s `payment`).
    public let payment: String
    public let amount: Money
    public let idempotencyKey: UUID

    public init(payment: String, amount: Money, idempotencyKey: UUID) {
        self.payment = payment
        self.amount = amount
        self.idempotencyKey = idempotencyKey
    }
}

public struct RefundReceipt: Sendable, Equatable {
    public let reference: String
    /// Some providers finish a refund later; an event reports the end.
    public let pending: Bool

    public init(reference: String, pending: Bool) {
        self.reference = reference
        self.pending = pending
    }
}

/// Why a payment call did not do what was asked.
public enum PaymentError: Error, Sendable, Equatable {
    /// A webhook whose signature, timestamp or body does not hold: nothing is applied.
    case refused(String)
    /// The provider could not be reached or answered 429/5xx: trying again later may help.
    case unavailable(String)
    /// The provider said no (a bad request, a refund larger than what is left): trying again will not help.
    case declined(String)
}

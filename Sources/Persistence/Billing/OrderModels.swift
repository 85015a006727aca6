import Domain
import FluentKit
import Foundation

/// One checkout of one credit pack. Payment records: kept for the tax period, without the
/// person once their account is erased (`user_id` set null).
public final class OrderModel: Model, @unchecked Sendable {
    public static let schema = "orders"

    @ID(key: .id) public var id: UUID?
    @OptionalField(key: "user_id") public var userID: UUID?
    @Field(key: "pack_id") public var packID: String
    @Field(key: "credits") public var credits: Int64
    @Field(key: "amount_minor") public var amountMinor: Int64
    @Field(key: "currency") public var currency: String
    @Field(key: "state") public var state: OrderState
    /// The `PaymentProvider.name` that took (or is taking) the money.
    @Field(key: "provider") public var provider: String
    @OptionalField(key: "checkout_reference") public var checkoutReference: String?
    /// The processor's reference for the money taken (a Stripe PaymentIntent).
    @OptionalField(key: "payment_reference") public var paymentReference: String?
    @Field(key: "refunded_minor") public var refundedMinor: Int64
    @OptionalField(key: "card_fingerprint") public var cardFingerprint: String?
    @OptionalField(key: "risk_level") public var riskLevel: String?
    /// Comma-separated `FraudSignal` names staff should look at.
    @Field(key: "fraud_flags") public var fraudFlags: String
    /// The buyer's network (IPv4 /24, IPv6 /48), for purchase velocity.
    @OptionalField(key: "network") public var network: String?
    /// The credits the payment added.
    @OptionalField(key: "lot_id") public var lotID: UUID?
    @OptionalField(key: "dispute_reference") public var disputeReference: String?
    @OptionalField(key: "dispute_status") public var disputeStatus: String?
    @Field(key: "created_at") public var createdAt: Date
    @OptionalField(key: "paid_at") public var paidAt: Date?
    @Field(key: "updated_at") public var updatedAt: Date

    public init() {}

    public static func new(
        user: UUID, pack: CreditPack, provider: String, network: String?, now: Date
    ) -> OrderModel {
        let order = OrderModel()
        order.id = UUID()
        order.userID = user
        order.packID = pack.id
        order.credits = Int64(pack.credits)
        order.amountMinor = pack.amountMinor
        order.currency = pack.currency
        order.state = .pending
        order.provider = provider
        order.refundedMinor = 0
        order.fraudFlags = ""
        order.network = network
        order.createdAt = now
        order.updatedAt = now
        return order
    }
}

/// A person's request for a refund of an order, and staff's decision.
public final class RefundRequestModel: Model, @unchecked Sendable {
    public static let schema = "refund_requests"

    @ID(key: .id) public var id: UUID?
    @Field(key: "order_id") public var orderID: UUID
    @OptionalField(key: "user_id") public var userID: UUID?
    @Field(key: "reason") public var reason: String
    @Field(key: "state") public var state: RefundRequestState
    @OptionalField(key: "decided_by") public var decidedBy: UUID?
    /// Staff's reason, shown to the person (with what was already spent, on an approval).
    @OptionalField(key: "decision_note") public var decisionNote: String?
    @Field(key: "credits_taken") public var creditsTaken: Int64
    @Field(key: "amount_refunded_minor") public var amountRefundedMinor: Int64
    @Field(key: "created_at") public var createdAt: Date
    @OptionalField(key: "decided_at") public var decidedAt: Date?

    public init() {}
}

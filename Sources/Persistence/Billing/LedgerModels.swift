import Domain
import FluentKit
import Foundation

/// A person's credits: `available` to spend and `held` for generations in flight. A cache of the
/// sums of their ledger entries (`LedgerStore.mismatchedWallets` checks it).
public final class WalletModel: Model, @unchecked Sendable {
    public static let schema = "wallets"

    /// The user's id.
    @ID(custom: "id", generatedBy: .user) public var id: UUID?
    @Field(key: "available") public var available: Int64
    @Field(key: "held") public var held: Int64
    @Field(key: "updated_at") public var updatedAt: Date

    public init() {}
}

/// What is left of one purchase or grant.
public final class CreditLotModel: Model, @unchecked Sendable {
    public static let schema = "credit_lots"

    @ID(key: .id) public var id: UUID?
    @Field(key: "user_id") public var userID: UUID
    @Field(key: "source") public var source: CreditSource
    @Field(key: "granted") public var granted: Int64
    @Field(key: "remaining") public var remaining: Int64
    /// Credits a dispute holds back: out of `remaining` (and the wallet) until it closes.
    @Field(key: "frozen") public var frozen: Int64
    @OptionalField(key: "expires_at") public var expiresAt: Date?
    @OptionalField(key: "order_id") public var orderID: UUID?
    /// Why it was given (a staff grant's reason, "Welcome credits"), shown in the person's history.
    @OptionalField(key: "reason") public var reason: String?
    @Field(key: "created_at") public var createdAt: Date

    public init() {}
}

/// One entry of the ledger: never changed or deleted.
public final class LedgerEntryModel: Model, @unchecked Sendable {
    public static let schema = "ledger_entries"

    @ID(key: .id) public var id: UUID?
    /// Nil once the account is erased (the entry is kept as a payment record).
    @OptionalField(key: "user_id") public var userID: UUID?
    @Field(key: "kind") public var kind: LedgerEntryKind
    @Field(key: "available_delta") public var availableDelta: Int64
    @Field(key: "held_delta") public var heldDelta: Int64
    @OptionalField(key: "generation_id") public var generationID: UUID?
    @OptionalField(key: "order_id") public var orderID: UUID?
    @OptionalField(key: "lot_id") public var lotID: UUID?
    @OptionalField(key: "reason") public var reason: String?
    @Field(key: "created_at") public var createdAt: Date

    public init() {}
}

import Domain
import Fluent
import Foundation
import Payments
import Persistence
import Vapor

/// Why a checkout could not start, in words for the person.
enum PurchaseError: UserFacingError, Equatable {
    case noSuchPack
    case tooMany
    case providerUnavailable
    case providerDeclined

    var kind: FailureKind {
        switch self {
        case .noSuchPack: .invalidInput
        case .tooMany: .rateLimited
        case .providerUnavailable: .unavailable
        case .providerDeclined: .unavailable
        }
    }

    var userMessage: String {
        switch self {
        case .noSuchPack: "That pack is not on sale. Pick one of the packs on this page."
        case .tooMany: "You have started many purchases in the last hour. Please wait an hour, or finish one you started."
        case .providerUnavailable: "The payment service could not be reached. Nothing was charged; please try again in a few minutes."
        case .providerDeclined: "The payment service would not start this checkout. Nothing was charged; the operator has been told."
        }
    }
}

/// Buying a pack: an order is written (pending) before the provider is asked for a checkout,
/// so every checkout has its order; the provider's call carries the order's id as its
/// idempotency key, so a retried call makes no second checkout.
enum Purchases {
    static func start(pack packID: String, user: UserModel, network: String, app: Application) async throws -> URL {
        let config = app.pictor.config
        guard let pack = config.packs.first(where: { $0.id == packID }), let amount = Money(minorUnits: pack.amountMinor, currency: pack.currency),
            let userID = user.id
        else { throw PurchaseError.noSuchPack }
        let now = app.pictor.clock.now()
        let hourAgo = now.addingTimeInterval(-3600)
        let provider = app.pictor.payments
        let order = OrderModel.new(user: userID, pack: pack, provider: provider.name, network: network, now: now)
        // Counted and written under the person's and the network's locks: checkouts at once
        // cannot all pass the count before any of them is written.
        try await writeTransaction(on: app.db) { tx in
            try await OrderStore.lockForCheckout(user: userID, network: network, now: now, on: tx)
            guard try await OrderStore.startedCount(user: userID, network: nil, since: hourAgo, on: tx) < PurchaseVelocity.perAccountPerHour,
                try await OrderStore.startedCount(user: nil, network: network, since: hourAgo, on: tx) < PurchaseVelocity.perNetworkPerHour
            else { throw PurchaseError.tooMany }
            try await OrderStore.insert(order, on: tx)
        }
        let orderID = try order.requireID()
        let receipt = config.link(to: SiteURL.billingOrder.path(order: orderID))
        let billing = config.link(to: SiteURL.billing.path)
        do {
            let session = try await provider.startCheckout(
                CheckoutRequest(
                    orderID: orderID, amount: amount, description: "\(pack.name): \(pack.credits) Pictor credits", customerEmail: user.email,
                    successURL: receipt, cancelURL: billing, idempotencyKey: orderID))
            try await OrderStore.setCheckoutReference(session.reference, of: orderID, now: now, on: app.db)
            return session.payURL
        } catch PaymentError.unavailable(let why) {
            app.logger.warning("checkout could not start", metadata: ["order": "\(orderID)", "why": .string(why)])
            _ = try await OrderStore.markFailed(orderID, now: now, on: app.db)
            throw PurchaseError.providerUnavailable
        } catch {
            app.logger.error("checkout refused", metadata: ["order": "\(orderID)", "why": "\(error)"])
            _ = try await OrderStore.markFailed(orderID, now: now, on: app.db)
            throw PurchaseError.providerDeclined
        }
    }
}

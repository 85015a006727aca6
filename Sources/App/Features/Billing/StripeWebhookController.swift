import Domain
import Foundation
import Payments
import Vapor

/// `POST /webhooks/stripe`: Stripe's events. The signature is checked on the raw body before
/// anything parses it (400 when it does not hold: Stripe shows the failure and retries); an
/// event applied before answers 200 again and changes nothing; when Stripe cannot be read back
/// for an event that needs it, 503, and Stripe delivers it again later.
enum StripeWebhookController {
    @Sendable static func receive(req: Request) async throws -> Response {
        let provider = req.pictor.payments
        guard provider.name == "stripe" else { throw AccessError.notFound }
        let body = req.body.data.map { Array($0.readableBytesView) } ?? []
        let headers = Dictionary(req.headers.map { ($0.name.lowercased(), $0.value) }, uniquingKeysWith: { first, _ in first })
        let event: PaymentEvent
        do {
            event = try provider.event(from: WebhookDelivery(body: body, headers: headers), now: req.pictor.clock.now())
        } catch {
            req.logger.warning("stripe webhook refused", metadata: ["why": .string(Refunds.describe(error))])
            return Response(status: .badRequest, body: .init(string: #"{"error":"The signature, its time or the body does not hold."}"#))
        }
        do {
            let outcome = try await PaymentEvents.apply(event, provider: provider, app: req.application)
            req.logger.info("stripe event", metadata: ["type": .string(event.type), "outcome": "\(outcome)"])
            return Response(status: .ok, body: .init(string: #"{"received":true}"#))
        } catch let error as PaymentError {
            req.logger.warning("stripe event not applied yet", metadata: ["type": .string(event.type), "why": .string(Refunds.describe(error))])
            return Response(status: .serviceUnavailable, body: .init(string: #"{"error":"Try again later."}"#))
        }
    }
}

import Domain
import Foundation
import Providers
import Vapor

/// Provider webhooks. Each is checked against the provider's signature scheme before anything
/// is read from it; an unsigned or stale delivery is refused (401) and changes nothing.
enum WebhooksController {
    struct PredictionEvent: Decodable {
        let id: String
        let status: String?
    }

    /// Replicate tells us a prediction finished: wake the worker waiting on it (it then reads the
    /// prediction itself, so a delivered webhook is a hint, never trusted data).
    @Sendable static func replicate(req: Request) async throws -> HTTPStatus {
        guard let secret = req.pictor.config.replicateWebhookSecret else { throw AccessError.notFound }
        let body = Data(req.body.data.map { $0.readableBytesView } ?? ByteBuffer().readableBytesView)
        guard let id = req.headers.first(name: "webhook-id"), let timestamp = req.headers.first(name: "webhook-timestamp"),
            let signatures = req.headers.first(name: "webhook-signature"),
            ReplicateWebhook.isAuthentic(id: id, timestamp: timestamp, signatures: signatures, body: body, secret: secret)
        else {
            req.logger.warning("replicate webhook refused: bad or missing signature")
            throw Abort(.unauthorized, reason: "The webhook signature is not valid.")
        }
        guard let event = try? JSONDecoder().decode(PredictionEvent.self, from: body) else { throw Abort(.badRequest) }
        PredictionSignals.shared.arrived(event.id)
        return .noContent
    }
}

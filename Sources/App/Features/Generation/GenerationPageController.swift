import Domain
import Foundation
import Persistence
import Vapor

/// One generation's page: its progress, images, share links, and cancelling it.
/// `Public/js/generation.js` follows progress live.
enum GenerationPageController {
    @Sendable static func generation(req: Request) async throws -> View {
        let user = try req.requireUser()
        return try await renderGeneration(try await GenerationsAPI.owned(req, user: user), newShareURL: nil, req: req)
    }

    /// One generation's page; `newShareURL` is a share link just made (its secret is shown only now).
    static func renderGeneration(_ generation: GenerationModel, newShareURL: String?, req: Request) async throws -> View {
        let dto = try await GenerationsAPI.dto(generation, req: req)
        let state = GenerationState(rawValue: dto.status)
        let active = state?.isFinal == false
        let id = dto.id.uuidString.lowercased()
        func url(_ site: SiteURL) -> String { site.path(generation: dto.id) }
        let now = req.pictor.clock.now()
        let links = try await ShareLinkStore.links(for: dto.id, of: generation.userID, on: req.db).map { link in
            GenerationPage.Share(
                created: link.createdAt.pageText,
                state: link.revokedAt != nil
                    ? "revoked" : link.isLive(at: now) ? (link.expiresAt.map { "expires \($0.pageText)" } ?? "never expires") : "expired",
                showsPrompt: link.showsPrompt, live: link.isLive(at: now),
                revokeURL: SiteURL.generationShareRevoke.path(generation: dto.id, share: link.id))
        }
        let page = GenerationPage(
            layout: .make(for: req, title: "Generation"), csrf: req.csrfToken, id: id,
            status: dto.status, statusText: statusText(dto), active: active,
            progressPercent: Int((dto.progress * 100).rounded()), queuePosition: dto.queuePosition, reason: dto.reason,
            prompt: dto.prompt, negativePrompt: dto.negativePrompt, hasNegativePrompt: !dto.negativePrompt.isEmpty, modelName: dto.modelName,
            size: "\(dto.width) × \(dto.height)", seed: String(dto.seed), style: dto.style.isEmpty ? "none" : dto.style,
            cost: state == .succeeded
                ? "\(dto.creditsCharged) credits" : active ? "\(dto.creditsHeld) credits held" : "nothing (you were not charged)",
            created: dto.createdAt.pageText, eventsURL: dto.eventsUrl, cancelURL: url(.generationPageCancel),
            pictures: dto.images.enumerated().map { index, image in
                let download = SiteURL.imageDownload.path(image: image.id)
                return GenerationPage.Picture(
                    url: image.url, thumbnail: image.thumbnailUrl, alt: "Image \(index + 1) for: \(dto.prompt)",
                    width: image.width, height: image.height, number: index + 1,
                    png: download + "?format=png", jpeg: download + "?format=jpeg", webp: download + "?format=webp")
            },
            favourite: dto.favourite, favouriteURL: url(.generationFavourite), deleteURL: url(.generationDelete),
            variationURL: url(.generationVariation), reuseURL: SiteURL.studio.path + "?from=" + id,
            shareURL: url(.generationShare), shares: links, hasShares: !links.isEmpty, newShareURL: newShareURL,
            expiryChoices: SharingController.expiryChoices.map { .init(value: $0.value, label: $0.label, selected: $0.value == "7") })
        return try await req.view.render("studio/generation", page)
    }

    @Sendable static func cancel(req: Request) async throws -> Response {
        let user = try req.requireUser()
        guard let id = req.parameters.get("generationID", as: UUID.self) else { throw AccessError.notFound }
        do {
            _ = try await GenerationService.cancel(id, user: user.id, app: req.application, on: req.db)
        } catch is GenerationConflict {
            // Already finished: the page shows how it ended.
        }
        return req.redirect(to: SiteURL.generationPage.path(generation: id))
    }

    static func statusText(_ dto: GenerationDTO) -> String {
        switch GenerationState(rawValue: dto.status) {
        case .queued: dto.queuePosition.map { $0 == 0 ? "Waiting: next in line" : "Waiting: \($0) ahead of you" } ?? "Waiting"
        case .running: "Making your images…"
        case .succeeded: "Done"
        case .failed: "Failed"
        case .blocked: "Blocked"
        case .cancelled: "Cancelled"
        case nil: dto.status
        }
    }
}

import Domain
import Foundation
import Persistence
import Storage
import Vapor

/// Share links: the owner makes an unguessable link to one generation (optionally expiring,
/// optionally showing the prompt) and can revoke it. The shared page, open to anyone with the
/// link, shows the images and nothing about the person: no name, email, account or other work.
/// Pictor stores only the SHA-256 of a link's secret, so the link is shown once, when made.
enum SharingController {
    static let expiryChoices: [(value: String, label: String, days: Int?)] = [
        ("7", "in 7 days", 7), ("1", "in 1 day", 1), ("30", "in 30 days", 30), ("never", "never", nil),
    ]

    struct ShareForm: Content {
        var expires: String?
        var showPrompt: String?
    }

    @Sendable static func create(req: Request) async throws -> Response {
        let user = try req.requireUser()
        let generation = try await GenerationsAPI.owned(req, user: user)
        guard generation.state == .succeeded else {
            throw GenerationConflict(message: "Only a finished generation with images can be shared.")
        }
        let form = try req.content.decode(ShareForm.self)
        guard let choice = expiryChoices.first(where: { $0.value == (form.expires ?? "7") }) else {
            throw GenerationInputError(fieldErrors: [
                FieldError(field: "expires", message: "Choose when the link stops working: 1, 7 or 30 days, or never.")
            ])
        }
        let token = Tokens.random(bytes: 24)
        let now = req.pictor.clock.now()
        let link = ShareLink(
            userID: user.id, generationID: generation.id!, tokenHash: Tokens.sha256(token), showsPrompt: form.showPrompt == "on",
            createdAt: now, expiresAt: choice.days.map { now.addingTimeInterval(TimeInterval($0) * 86_400) })
        try await ShareLinkStore.insert(link, on: req.db)
        try await Audit.record(
            "share_link.created", actor: user.id, target: ("generation", generation.id!.uuidString),
            detail: ["expires": choice.value, "shows_prompt": String(link.showsPrompt)], request: req, on: req.db)
        let url = req.pictor.config.link(to: SiteURL.shared.path(token: token)).absoluteString
        // The secret is in this page alone: no cache may keep it.
        let response = try await GenerationPageController.renderGeneration(generation, newShareURL: url, req: req).encodeResponse(
            status: .created, for: req)
        response.headers.replaceOrAdd(name: .cacheControl, value: "no-store")
        return response
    }

    @Sendable static func revoke(req: Request) async throws -> Response {
        let user = try req.requireUser()
        let generation = try await GenerationsAPI.owned(req, user: user)
        guard let shareID = req.parameters.get("shareID", as: UUID.self),
            try await ShareLinkStore.links(for: generation.id!, of: user.id, on: req.db).contains(where: { $0.id == shareID })
        else { throw AccessError.notFound }
        if try await ShareLinkStore.revoke(shareID, of: user.id, now: req.pictor.clock.now(), on: req.db) {
            try await Audit.record("share_link.revoked", actor: user.id, target: ("share_link", shareID.uuidString), request: req, on: req.db)
        }
        return req.redirect(to: SiteURL.generationPage.path(generation: generation.id!))
    }

    // MARK: The shared page (no sign-in)

    @Sendable static func page(req: Request) async throws -> Response {
        let (link, generation) = try await live(req)
        let images = try await GenerationStore.images(of: generation.id!, on: req.db)
        let key = try await req.pictor.contentKeys.existingKey(for: link.userID, on: req.db)
        let prompt = link.showsPrompt ? (try? key?.open(text: generation.promptSealed)) ?? nil : nil
        let token = try token(req)
        let page = SharedPage(
            layout: .make(for: req, title: "Shared images"), prompt: prompt,
            modelName: req.pictor.models.madeBy(model: generation.model, modelUsed: generation.modelUsed),
            size: "\(generation.width) × \(generation.height)",
            pictures: images.map { image in
                SharedPage.Picture(
                    url: SiteURL.sharedImage.path(token: token, position: image.position + 1),
                    alt: prompt.map { "Image \(image.position + 1): \($0)" } ?? "Shared image \(image.position + 1)",
                    width: image.width, height: image.height)
            })
        let response = try await req.view.render("studio/shared", page).encodeResponse(for: req)
        privateHeaders(response)
        return response
    }

    @Sendable static func image(req: Request) async throws -> Response {
        let (link, generation) = try await live(req)
        // The position as shown (1, 2, …); checked before any arithmetic: `Int.min - 1` traps.
        guard let position = BoundedNumber.parse(req.parameters.get("position") ?? "", in: 1...999),
            let image = try await GenerationStore.images(of: generation.id!, on: req.db).first(where: { $0.position == position - 1 }),
            let key = try await req.pictor.contentKeys.existingKey(for: link.userID, on: req.db)
        else { throw AccessError.notFound }
        let bytes = try key.open(try await req.pictor.blobs.get(BlobKey(image.blobKey)))
        let response = Response(status: .ok, body: .init(data: bytes))
        response.headers.contentType = HTTPMediaType(type: "image", subType: image.format)
        privateHeaders(response)
        return response
    }

    /// The live link in the path and its generation; 404 for an unknown token, 410 for a
    /// revoked or expired one.
    private static func live(_ req: Request) async throws -> (ShareLink, GenerationModel) {
        guard let link = try await ShareLinkStore.find(tokenHash: Tokens.sha256(try token(req)), on: req.db),
            let generation = try await GenerationStore.find(link.generationID, of: link.userID, on: req.db)
        else { throw AccessError.notFound }
        guard link.isLive(at: req.pictor.clock.now()) else { throw ShareLinkGone() }
        return (link, generation)
    }

    private static func token(_ req: Request) throws -> String {
        guard let token = req.parameters.get("token"), token.count <= 64 else { throw AccessError.notFound }
        return token
    }

    /// A revoked link must stop working at once: nothing may be cached, and the secret in the
    /// address must not leak to other sites or search engines.
    private static func privateHeaders(_ response: Response) {
        response.headers.replaceOrAdd(name: .cacheControl, value: "no-store")
        response.headers.replaceOrAdd(name: "Referrer-Policy", value: "no-referrer")
        response.headers.replaceOrAdd(name: "X-Robots-Tag", value: "noindex, nofollow")
    }
}

struct ShareLinkGone: UserFacingError {
    var kind: FailureKind { .gone }
    var userMessage: String { "This share link has been revoked or has expired. Ask the person who shared it for a new one." }
}

/// `studio/shared.leaf`: what a share link shows.
struct SharedPage: Encodable {
    struct Picture: Encodable {
        let url: String
        let alt: String
        let width: Int
        let height: Int
    }

    let layout: LayoutContext
    let prompt: String?
    let modelName: String
    let size: String
    let pictures: [Picture]
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}

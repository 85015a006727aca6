import Domain
import Foundation
import Persistence
import Vapor

/// What the owner does to one generation from its page or the API: favourite, delete (with a
/// few minutes to undo; an unfinished one is cancelled first, free), restore, and a variation
/// (same settings, new random seed). Another person's id answers 404 like an unknown one.
enum GenerationActions {
    /// How long a delete can be undone; the maintenance sweep removes it for good afterwards.
    static let undoMinutes = 5
    static var undoWindow: TimeInterval { TimeInterval(undoMinutes * 60) }

    // MARK: Pages

    @Sendable static func favourite(req: Request) async throws -> Response {
        let user = try req.requireUser()
        let id = try generationID(req)
        let on = (try? req.content.get(String.self, at: "favourite")) != "0"
        guard try await GalleryStore.setFavourite(id, of: user.id, on, now: req.pictor.clock.now(), on: req.db) else { throw AccessError.notFound }
        return req.redirect(to: SiteURL.generationPage.path(generation: id))
    }

    @Sendable static func delete(req: Request) async throws -> Response {
        let user = try req.requireUser()
        let id = try generationID(req)
        try await delete(id, user: user, req: req)
        return req.redirect(to: SiteURL.gallery.path + "?deleted=" + id.uuidString.lowercased())
    }

    @Sendable static func restore(req: Request) async throws -> Response {
        let user = try req.requireUser()
        let id = try generationID(req)
        let now = req.pictor.clock.now()
        guard try await GalleryStore.restore(id, of: user.id, deletedAfter: now.addingTimeInterval(-undoWindow), now: now, on: req.db) else {
            throw GenerationConflict(message: "This generation can no longer be restored: deletes can be undone for \(undoMinutes) minutes.")
        }
        return req.redirect(to: SiteURL.generationPage.path(generation: id))
    }

    @Sendable static func variation(req: Request) async throws -> Response {
        let user = try req.requireUser()
        let original = try await GenerationsAPI.owned(req, user: user)
        let key = try await req.pictor.contentKeys.key(for: user.id, on: req.db)
        let prompts = try key.prompts(of: original)
        let submission = GenerationSubmission(
            draft: GenerationDraft(
                prompt: prompts.prompt, negativePrompt: prompts.negative,
                width: original.width, height: original.height, count: original.count, seed: nil, style: original.style),
            model: original.model,
            referenceIDs: (try? original.decodedReferenceIDs()) ?? [],
            idempotencyKey: nil)
        let submitted = try await GenerationService.submit(submission, user: user.id, app: req.application, on: req.db)
        return req.redirect(to: SiteURL.generationPage.path(generation: submitted.generation.id!))
    }

    // MARK: API

    /// `PUT /api/v1/generations/{id}/favourite` marks, `DELETE` unmarks; answers the generation.
    @Sendable static func apiFavourite(req: Request) async throws -> GenerationDTO {
        let user = try req.requireUser(scope: .generationsWrite)
        let id = try generationID(req)
        guard try await GalleryStore.setFavourite(id, of: user.id, req.method == .PUT, now: req.pictor.clock.now(), on: req.db) else {
            throw AccessError.notFound
        }
        return try await GenerationsAPI.dto(try await GenerationsAPI.owned(req, user: user), req: req)
    }

    /// `DELETE /api/v1/generations/{id}`: 204; undoable for a few minutes from its page.
    @Sendable static func apiDelete(req: Request) async throws -> HTTPStatus {
        let user = try req.requireUser(scope: .generationsWrite)
        try await delete(try generationID(req), user: user, req: req)
        return .noContent
    }

    // MARK: Helpers

    private static func delete(_ id: UUID, user: CurrentUser, req: Request) async throws {
        guard let generation = try await GenerationStore.find(id, of: user.id, on: req.db) else { throw AccessError.notFound }
        if !generation.state.isFinal {
            // Cancelled first, so that nothing is charged for it. It may have ended meanwhile (the
            // conflict); any other failure stops the deletion: hidden but still running, it
            // could be charged for.
            do {
                _ = try await GenerationService.cancel(id, user: user.id, app: req.application, on: req.db)
            } catch is GenerationConflict {}
        }
        guard try await GalleryStore.markDeleted(id, of: user.id, now: req.pictor.clock.now(), on: req.db) else { throw AccessError.notFound }
        req.pictor.generationEvents.changed(id)
    }

    static func generationID(_ req: Request) throws -> UUID {
        guard let id = req.parameters.get("generationID", as: UUID.self) else { throw AccessError.notFound }
        return id
    }
}

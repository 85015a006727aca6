import Domain
import Fluent
import Foundation
import Persistence
import Vapor

/// `/api/v1/generations`: create (with `Idempotency-Key`), get, list (cursor, search and filters), cancel.
/// Everything is the signed-in user's own: another user's id answers 404.
enum GenerationsAPI {
    @Sendable static func create(req: Request) async throws -> Response {
        let user = try req.requireUser(scope: .generationsWrite)
        let body = try req.content.decode(GenerationCreateBody.self)
        let submission = body.submission(models: req.pictor.models, idempotencyKey: req.headers.first(name: "Idempotency-Key"))
        let submitted = try await GenerationService.submit(submission, user: user.id, app: req.application, on: req.db)
        // A new generation has no images, and its queue position comes with its events:
        // the answer needs no further reads.
        let dto =
            submitted.replayed
            ? try await dto(submitted.generation, req: req)
            : GenerationDTO(submitted.generation, images: [], key: submitted.key, queuePosition: nil, models: req.pictor.models)
        let response = try await dto.encodeResponse(status: submitted.replayed ? .ok : .created, for: req)
        response.headers.replaceOrAdd(name: .location, value: SiteURL.apiGeneration.path(generation: dto.id))
        if submitted.replayed { response.headers.replaceOrAdd(name: "Idempotent-Replayed", value: "true") }
        return response
    }

    @Sendable static func get(req: Request) async throws -> GenerationDTO {
        let user = try req.requireUser(scope: .generationsRead)
        return try await dto(try await owned(req, user: user), req: req)
    }

    @Sendable static func list(req: Request) async throws -> GenerationPageDTO {
        let user = try req.requireUser(scope: .generationsRead)
        let limit = PageCursor.limit(req)
        let cursor = try PageCursor.from(req)
        // The gallery's filters: q (words of the prompt), model, status, favourites=1, from, to (YYYY-MM-DD).
        let key = try await req.pictor.contentKeys.existingKey(for: user.id, on: req.db)
        let filter = try req.query.decode(GalleryQuery.self).filter(key: key).get()
        let rows = try await listing(of: user.id, filter: filter, after: cursor, limit: limit + 1, req: req)
        let data = Array(rows.prefix(limit))
        let next = rows.count > limit ? data.last.map { PageCursor(createdAt: $0.createdAt, id: $0.id).token } : nil
        return GenerationPageDTO(data: data, nextCursor: next)
    }

    @Sendable static func cancel(req: Request) async throws -> GenerationDTO {
        let user = try req.requireUser(scope: .generationsWrite)
        guard let id = req.parameters.get("generationID", as: UUID.self) else { throw AccessError.notFound }
        let generation = try await GenerationService.cancel(id, user: user.id, app: req.application, on: req.db)
        return try await dto(generation, req: req)
    }

    /// A page of the user's generations, newest first, as their owner sees them.
    static func listing(of userID: UUID, filter: GalleryFilter = GalleryFilter(), after cursor: PageCursor?, limit: Int, req: Request) async throws
        -> [GenerationDTO]
    {
        let rows = try await GalleryStore.page(of: userID, filter: filter, after: cursor, limit: limit, on: req.db)
        let images = try await GenerationStore.images(of: rows.map { $0.id! }, on: req.db)
        let key = try await req.pictor.contentKeys.existingKey(for: userID, on: req.db)
        return rows.map { GenerationDTO($0, images: images[$0.id!] ?? [], key: key, queuePosition: nil, models: req.pictor.models) }
    }

    /// The signed-in user's generation named in the path, or 404.
    static func owned(_ req: Request, user: CurrentUser) async throws -> GenerationModel {
        guard let id = req.parameters.get("generationID", as: UUID.self),
            let generation = try await GenerationStore.find(id, of: user.id, on: req.db)
        else { throw AccessError.notFound }
        return generation
    }

    static func dto(_ generation: GenerationModel, req: Request) async throws -> GenerationDTO {
        let images = try await GenerationStore.images(of: generation.id!, on: req.db)
        let key = try await req.pictor.contentKeys.existingKey(for: generation.userID, on: req.db)
        let position =
            generation.state == .queued
            ? try await GenerationStore.queuePosition(of: generation, on: req.db) : nil
        return GenerationDTO(generation, images: images, key: key, queuePosition: position, models: req.pictor.models)
    }
}

import Domain
import Foundation
import Persistence
import Vapor

/// `/gallery`: the person's generations, newest first, 50 a page (keyset pages), with search
/// over prompts and filters by date, model, status and favourites. A delete just made shows
/// here with its undo button.
enum GalleryController {
    static let pageSize = 50

    @Sendable static func gallery(req: Request) async throws -> Response {
        let user = try req.requireUser()
        let query = try req.query.decode(GalleryQuery.self)
        let key = try await req.pictor.contentKeys.existingKey(for: user.id, on: req.db)
        var page = GalleryPage(
            layout: .make(for: req, title: "Your images", flashes: try await undoFlash(req, user: user)), csrf: req.csrfToken,
            q: query.text, favourites: query.favouritesOnly, from: query.from ?? "", to: query.to ?? "",
            models: modelOptions(req, selected: query.model),
            statuses: [.init(value: "", label: "Any status", selected: (query.status ?? "").isEmpty)]
                + GalleryQuery.statuses.map { .init(value: $0, label: $0.capitalized, selected: query.status == $0) },
            filtered: query.isFiltered)
        let filter: GalleryFilter
        switch query.filter(key: key) {
        case .success(let parsed): filter = parsed
        case .failure(let error):
            page.show(error.fieldErrors)
            return try await render(page, status: .badRequest, req: req)
        }
        let cursor: PageCursor?
        do {
            cursor = try query.cursor()
        } catch let error as GenerationInputError {
            // An edited or stale page link: the gallery says so where the page links are.
            page.show(error.fieldErrors)
            return try await render(page, status: .badRequest, req: req)
        }
        let rows = try await GalleryStore.page(of: user.id, filter: filter, after: cursor, limit: pageSize + 1, on: req.db)
        let shown = Array(rows.prefix(pageSize))
        let images = try await GenerationStore.images(of: shown.map { $0.id! }, on: req.db)
        page.tiles = shown.map { row in
            let pictures = images[row.id!] ?? []
            let prompt = (try? key?.open(text: row.promptSealed)) ?? ""
            return GalleryPage.Tile(
                href: SiteURL.generationPage.path(generation: row.id!),
                thumbnail: pictures.first.map { SiteURL.imageThumbnail.path(image: $0.id!) },
                alt: prompt, status: row.state.rawValue, statusText: row.state.rawValue.capitalized,
                more: pictures.count > 1 ? "+\(pictures.count - 1)" : nil, favourite: row.favouritedAt != nil)
        }
        page.isEmpty = page.tiles.isEmpty
        if rows.count > pageSize, let last = shown.last {
            page.nextPage = SiteURL.gallery.path + query.queryString(after: PageCursor(createdAt: last.createdAt, id: last.id!))
        }
        return try await render(page, status: .ok, req: req)
    }

    private static func render(_ page: GalleryPage, status: HTTPStatus, req: Request) async throws -> Response {
        let response = try await req.view.render("studio/gallery", page.opened()).encodeResponse(for: req)
        response.status = status
        return response
    }

    /// "Deleted … Undo" after a delete, while the undo time lasts.
    private static func undoFlash(_ req: Request, user: CurrentUser) async throws -> [LayoutContext.Flash] {
        guard let id = try? req.query.get(UUID.self, at: "deleted") else { return [] }
        return [
            LayoutContext.Flash(
                level: .info, text: "Deleted. You can undo this for \(GenerationActions.undoMinutes) minutes.",
                undoURL: SiteURL.generationRestore.path(generation: id))
        ]
    }

    /// The models on offer (not the distinct models of the person's history: with 100,000
    /// generations that read alone took 28 ms). A model no longer offered stays filterable by URL.
    private static func modelOptions(_ req: Request, selected: String?) -> [PageOption] {
        var options: [PageOption] = [.init(value: "", label: "Any model", selected: (selected ?? "").isEmpty)]
        options += req.pictor.models.entries.map { .init(value: $0.id, label: $0.displayName, selected: $0.id == selected) }
        if let selected, !selected.isEmpty, req.pictor.models.entry(selected) == nil {
            options.append(.init(value: selected, label: selected, selected: true))
        }
        return options
    }
}

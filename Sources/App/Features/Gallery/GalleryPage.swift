import Domain

/// `studio/gallery.leaf`: one page of the person's generations and the search form.
struct GalleryPage: Encodable {
    struct Tile: Encodable {
        let href: String
        let thumbnail: String?
        let alt: String
        let status: String
        let statusText: String
        /// "+3" when the generation has more images than the one shown.
        let more: String?
        let favourite: Bool
    }

    let layout: LayoutContext
    let csrf: String
    let q: String
    let favourites: Bool
    let from: String
    let to: String
    let models: [PageOption]
    let statuses: [PageOption]
    let filtered: Bool
    /// The filters' disclosure starts open when one is set or has a problem (set by `opened()`).
    var filtersOpen = false

    /// This page with its filters' disclosure open when one is set or has a problem.
    func opened() -> GalleryPage {
        var page = self
        page.filtersOpen = shouldOpenFilters
        return page
    }

    private var shouldOpenFilters: Bool {
        favourites || !from.isEmpty || !to.isEmpty || models.contains { $0.selected && !$0.value.isEmpty }
            || statuses.contains { $0.selected && !$0.value.isEmpty } || statusError != nil || fromError != nil || toError != nil
    }
    var tiles: [Tile] = []
    var isEmpty = false
    var nextPage: String?
    var qError: String?
    var statusError: String?
    var fromError: String?
    var toError: String?
    var afterError: String?

    mutating func show(_ errors: [FieldError]) {
        for error in errors {
            switch error.field {
            case "status": statusError = error.message
            case "from": fromError = error.message
            case "to": toError = error.message
            case "after": afterError = error.message
            default: qError = error.message
            }
        }
    }
}

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

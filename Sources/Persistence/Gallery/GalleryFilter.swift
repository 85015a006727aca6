import Domain
import Foundation

/// What a gallery or history page shows of a person's generations. Deleted generations
/// never appear; everything else narrows the list.
public struct GalleryFilter: Sendable, Equatable {
    /// Keyed hashes of the searched words: a generation matches when its prompt has all of them.
    public var terms: [String] = []
    public var model: String?
    public var state: GenerationState?
    public var favouritesOnly = false
    /// Made at or after this time.
    public var from: Date?
    /// Made before this time.
    public var until: Date?

    public init(
        terms: [String] = [], model: String? = nil, state: GenerationState? = nil, favouritesOnly: Bool = false, from: Date? = nil, until: Date? = nil
    ) {
        self.terms = terms
        self.model = model
        self.state = state
        self.favouritesOnly = favouritesOnly
        self.from = from
        self.until = until
    }
}

import Foundation

/// Where a person's blobs live. The one place that knows the layout; every key is built and
/// read back through here:
///
///     users/<user>/generations/<generation>.<position>-<attempt>.<extension>
///     users/<user>/generations/<generation>.<position>-<attempt>.thumb.webp
///     users/<user>/references/<reference>.<extension>
///
/// One folder per person (not per generation: a new folder per generation cost a mkdir each),
/// so a person's blobs are all under `personPrefix`. Ids are written lower-case.
extension BlobKey {
    /// The prefix every blob of every person starts with.
    public static let peoplePrefix = "users/"

    /// Everything stored for `user` starts with this.
    public static func personPrefix(_ user: UUID) -> String {
        peoplePrefix + user.uuidString.lowercased() + "/"
    }

    /// Image `position` of `generation`, as made by attempt `attempt` (a token unique to the attempt).
    public static func generationImage(user: UUID, generation: UUID, position: Int, attempt: String, fileExtension: String) throws(BlobStoreError)
        -> BlobKey
    {
        try BlobKey(generationBase(user: user, generation: generation, position: position, attempt: attempt) + "." + fileExtension)
    }

    /// The thumbnail (WebP) of the same image.
    public static func generationThumbnail(user: UUID, generation: UUID, position: Int, attempt: String) throws(BlobStoreError) -> BlobKey {
        try BlobKey(generationBase(user: user, generation: generation, position: position, attempt: attempt) + ".thumb.webp")
    }

    /// A reference image `user` uploaded.
    public static func reference(user: UUID, reference: UUID, fileExtension: String) throws(BlobStoreError) -> BlobKey {
        try BlobKey(personPrefix(user) + "references/" + reference.uuidString.lowercased() + "." + fileExtension)
    }

    private static func generationBase(user: UUID, generation: UUID, position: Int, attempt: String) -> String {
        personPrefix(user) + "generations/" + generation.uuidString.lowercased() + ".\(position)-" + attempt
    }

    /// What a key in the layout belongs to.
    public enum Owner: Sendable, Equatable {
        case generation(user: UUID, generation: UUID)
        case reference(user: UUID, reference: UUID)
    }

    /// Whose this key is, or nil for a key outside the layout.
    public var owner: Owner? {
        let parts = rawValue.split(separator: "/")
        guard parts.count == 4, parts[0] == "users", let user = UUID(uuidString: String(parts[1])),
            let id = parts[3].split(separator: ".").first.flatMap({ UUID(uuidString: String($0)) })
        else { return nil }
        switch parts[2] {
        case "generations": return .generation(user: user, generation: id)
        case "references": return .reference(user: user, reference: id)
        default: return nil
        }
    }
}

/// `studio/generation.leaf`: one generation, its progress and its images.
struct GenerationPage: Encodable {
    struct Picture: Encodable {
        let url: String
        let thumbnail: String
        let alt: String
        let width: Int
        let height: Int
        let number: Int
        /// Download links, one per format.
        let png: String
        let jpeg: String
        let webp: String
    }

    struct Share: Encodable {
        let created: String
        let state: String
        let showsPrompt: Bool
        let live: Bool
        let revokeURL: String
    }

    let layout: LayoutContext
    let csrf: String
    let id: String
    let status: String
    let statusText: String
    let active: Bool
    let progressPercent: Int
    let queuePosition: Int?
    let reason: String?
    let prompt: String
    let negativePrompt: String
    let hasNegativePrompt: Bool
    let modelName: String
    let size: String
    let seed: String
    let style: String
    let cost: String
    let created: String
    let eventsURL: String
    let cancelURL: String
    let pictures: [Picture]
    let favourite: Bool
    let favouriteURL: String
    let deleteURL: String
    let variationURL: String
    /// The studio, filled in with this generation's settings.
    let reuseURL: String
    let shareURL: String
    let shares: [Share]
    let hasShares: Bool
    let newShareURL: String?
    let expiryChoices: [PageOption]
}

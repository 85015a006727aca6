import Domain
import Foundation
import Persistence
import Vapor

/// A generation as the API and the event stream show it to its owner.
struct GenerationDTO: Content {
    struct Image: Content {
        let id: UUID
        let url: String
        let thumbnailUrl: String
        let format: String
        let width: Int
        let height: Int
        let bytes: Int
        let sha256: String
        /// The IPTC digital source type written into the file.
        let digitalSourceType: String
    }

    let id: UUID
    let status: String
    let model: String
    /// What made the images, for people (names the fallback when one stood in).
    let modelName: String
    /// The model that delivered, when a fallback stood in for the chosen one.
    let modelUsed: String?
    let prompt: String
    let negativePrompt: String
    let width: Int
    let height: Int
    let count: Int
    let seed: Int64
    let style: String
    let referenceImageIds: [UUID]
    /// 0…1 while running (when the model reports progress), 1 when done.
    let progress: Double
    /// Generations ahead of this one while it waits.
    let queuePosition: Int?
    /// Why it ended unhappily, for people.
    let reason: String?
    let creditsHeld: Int
    let creditsCharged: Int
    let createdAt: Date
    let startedAt: Date?
    let finishedAt: Date?
    let images: [Image]
    let eventsUrl: String
    /// Marked as a favourite by its owner.
    let favourite: Bool

    init(_ row: GenerationModel, images: [GenerationImageModel], key: ContentKey?, queuePosition: Int?, models: ModelCatalog) {
        id = row.id!
        status = row.state.rawValue
        model = row.model
        modelName = models.madeBy(model: row.model, modelUsed: row.modelUsed)
        modelUsed = row.modelUsed
        let prompts = try? key?.prompts(of: row)
        prompt = prompts?.prompt ?? ""
        negativePrompt = prompts?.negative ?? ""
        width = row.width
        height = row.height
        count = row.count
        seed = row.seed
        style = row.style
        referenceImageIds = (try? row.decodedReferenceIDs()) ?? []
        progress = row.progress
        self.queuePosition = queuePosition
        reason = row.reason
        creditsHeld = row.creditsHeld
        creditsCharged = row.creditsCharged
        createdAt = row.createdAt
        startedAt = row.startedAt
        finishedAt = row.finishedAt
        self.images = images.map { image in
            return Image(
                id: image.id!, url: SiteURL.image.path(image: image.id!),
                thumbnailUrl: SiteURL.imageThumbnail.path(image: image.id!),
                format: image.format, width: image.width, height: image.height, bytes: image.bytes,
                sha256: image.sha256, digitalSourceType: image.digitalSourceType)
        }
        eventsUrl = SiteURL.generationEvents.path(generation: row.id!)
        favourite = row.favouritedAt != nil
    }
}

/// A page of generations, newest first.
struct GenerationPageDTO: Content {
    let data: [GenerationDTO]
    /// Pass as `cursor` to get the next page; null on the last page.
    let nextCursor: String?
}

/// The JSON body of `POST /api/v1/generations`. Every field is optional here so that
/// problems are reported per field, in words, instead of as an unreadable body.
struct GenerationCreateBody: Decodable {
    var prompt: String?
    var negativePrompt: String?
    var model: String?
    /// `WIDTHxHEIGHT`, e.g. `1024x1024`; or give `width` and `height`.
    var size: String?
    var width: Int?
    var height: Int?
    var count: Int?
    var seed: SeedInput?
    var style: String?
    var referenceImageIds: [UUID]?

    /// A seed as sent: a whole number in range, or something else (reported as a field error).
    enum SeedInput: Decodable {
        case value(UInt64)
        case invalid

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(UInt64.self) {
                self = .value(number)
            } else if let text = try? container.decode(String.self), let number = UInt64(text) {
                self = .value(number)
            } else {
                self = .invalid
            }
        }
    }

    func submission(models: ModelCatalog, idempotencyKey: String?) -> GenerationSubmission {
        let entry = model.flatMap { models.entry($0) } ?? models.defaultEntry
        var size = (width: width ?? 0, height: height ?? 0)
        if let text = self.size {
            let parsed = ImageSize(text: text)
            size = (parsed?.width ?? 0, parsed?.height ?? 0)
        } else if width == nil && height == nil {
            let sizes = entry.capabilities.sizes
            let fallback = sizes.first { $0.width == 1024 && $0.height == 1024 } ?? sizes.first ?? ImageSize(width: 0, height: 0)
            size = (fallback.width, fallback.height)
        }
        var seed: UInt64?
        var seedIsInvalid = false
        switch self.seed {
        case .value(let number): seed = number
        case .invalid: seedIsInvalid = true
        case nil: break
        }
        return GenerationSubmission(
            draft: GenerationDraft(
                prompt: prompt ?? "", negativePrompt: negativePrompt ?? "", width: size.width, height: size.height,
                count: count ?? 1, seed: seed, style: style ?? ""),
            model: model, referenceIDs: referenceImageIds ?? [], seedIsInvalid: seedIsInvalid, idempotencyKey: idempotencyKey)
    }
}

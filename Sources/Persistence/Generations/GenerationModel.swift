import Domain
import FluentKit
import Foundation

/// One request for images: what was asked (prompt sealed under the user's content key),
/// where it is in its life, and what it cost.
public final class GenerationModel: Model, @unchecked Sendable {
    public static let schema = "generations"

    @ID(key: .id) public var id: UUID?
    @Field(key: "user_id") public var userID: UUID
    /// The catalog id of the model, e.g. `builtin`.
    @Field(key: "model") public var model: String
    @Field(key: "prompt_sealed") public var promptSealed: String
    @Field(key: "negative_prompt_sealed") public var negativePromptSealed: String
    @Field(key: "width") public var width: Int
    @Field(key: "height") public var height: Int
    @Field(key: "count") public var count: Int
    @Field(key: "seed") public var seed: Int64
    @Field(key: "style") public var style: String
    /// JSON array of reference image ids (`[]` for none).
    @Field(key: "reference_ids") public var referenceIDs: String
    @Field(key: "state") public var state: GenerationState
    /// Why it ended unhappily, in words for the person who asked.
    @OptionalField(key: "reason") public var reason: String?
    /// 0…1 while running, where the provider reports it.
    @Field(key: "progress") public var progress: Double
    @Field(key: "price_per_image") public var pricePerImage: Int
    @Field(key: "credits_held") public var creditsHeld: Int
    @Field(key: "credits_charged") public var creditsCharged: Int
    @OptionalField(key: "idempotency_key") public var idempotencyKey: String?
    /// SHA-256 of the request as submitted, to tell a replay from a reused key.
    @Field(key: "request_hash") public var requestHash: String
    @OptionalField(key: "job_id") public var jobID: UUID?
    @Field(key: "created_at") public var createdAt: Date
    @OptionalField(key: "started_at") public var startedAt: Date?
    @OptionalField(key: "finished_at") public var finishedAt: Date?
    @Field(key: "updated_at") public var updatedAt: Date
    /// The model that delivered, when it was not the one chosen (failover) or once it succeeded.
    @OptionalField(key: "model_used") public var modelUsed: String?
    /// Keyed hashes of the prompt's words, space-separated: what search matches (migration 010).
    @Field(key: "search_terms") public var searchTerms: String
    @OptionalField(key: "favourited_at") public var favouritedAt: Date?
    /// Set when the owner deletes it; the row and its images go for good once the undo time has passed.
    @OptionalField(key: "deleted_at") public var deletedAt: Date?

    public init() {}
}

/// One image a generation delivered: stored (sealed) in the blob store before this row existed.
public final class GenerationImageModel: Model, @unchecked Sendable {
    public static let schema = "generation_images"

    @ID(key: .id) public var id: UUID?
    @Field(key: "generation_id") public var generationID: UUID
    @Field(key: "user_id") public var userID: UUID
    @Field(key: "position") public var position: Int
    @Field(key: "blob_key") public var blobKey: String
    @Field(key: "thumbnail_key") public var thumbnailKey: String
    /// `png`, `jpeg` or `webp`.
    @Field(key: "format") public var format: String
    @Field(key: "width") public var width: Int
    @Field(key: "height") public var height: Int
    @Field(key: "bytes") public var bytes: Int
    @Field(key: "thumbnail_bytes") public var thumbnailBytes: Int
    /// SHA-256 (hex) of the image as served: its ETag.
    @Field(key: "sha256") public var sha256: String
    @Field(key: "digital_source_type") public var digitalSourceType: String
    @Field(key: "created_at") public var createdAt: Date

    public init() {}
}

/// A reference image a user uploaded: re-encoded without metadata, sealed, stored.
public final class ReferenceImageModel: Model, @unchecked Sendable {
    public static let schema = "reference_images"

    @ID(key: .id) public var id: UUID?
    @Field(key: "user_id") public var userID: UUID
    @Field(key: "blob_key") public var blobKey: String
    @Field(key: "format") public var format: String
    @Field(key: "width") public var width: Int
    @Field(key: "height") public var height: Int
    @Field(key: "bytes") public var bytes: Int
    @Field(key: "sha256") public var sha256: String
    @Field(key: "created_at") public var createdAt: Date
    /// The generation it was uploaded with (studio form), which it is deleted with; nil for API uploads.
    @OptionalField(key: "generation_id") public var generationID: UUID?

    public init() {}
}

extension GenerationModel {
    /// The reference images the request named, in its order (`reference_ids` holds them as a JSON array).
    public func decodedReferenceIDs() throws -> [UUID] {
        try JSONDecoder().decode([UUID].self, from: Data(referenceIDs.utf8))
    }
}

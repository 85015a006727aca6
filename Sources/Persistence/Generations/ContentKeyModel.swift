import FluentKit
import Foundation

/// A user's content key (AES-256), sealed under a key derived from the server key.
/// Its id is the user's id. Erasing this row crypto-shreds the user's prompts and images.
public final class ContentKeyModel: Model, @unchecked Sendable {
    public static let schema = "content_keys"

    @ID(custom: "id", generatedBy: .user) public var id: UUID?
    @Field(key: "sealed_key") public var sealedKey: String
    @Field(key: "created_at") public var createdAt: Date

    public init() {}
}

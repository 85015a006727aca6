import FluentKit
import Foundation

/// A personal API key. The key is shown once; only its prefix (to recognise it) and
/// the SHA-256 of the whole key are stored.
public final class APIKeyModel: Model, @unchecked Sendable {
    public static let schema = "api_keys"

    @ID(key: .id) public var id: UUID?
    @Field(key: "user_id") public var userID: UUID
    @Field(key: "name") public var name: String
    /// `pictor_` and eight characters, unique: shown in lists and used to find the key.
    @Field(key: "prefix") public var prefix: String
    @Field(key: "key_hash") public var keyHash: String
    /// Space-separated, e.g. `account:read generations:write`.
    @Field(key: "scopes") public var scopes: String
    @Field(key: "created_at") public var createdAt: Date
    @OptionalField(key: "last_used_at") public var lastUsedAt: Date?
    @OptionalField(key: "revoked_at") public var revokedAt: Date?

    public init() {}
}

import FluentKit
import Foundation

/// A message waiting to be sent, or sent; the `mail.send` job delivers it.
public final class MailOutboxModel: Model, @unchecked Sendable {
    public static let schema = "mail_outbox"

    @ID(key: .id) public var id: UUID?
    /// The account the message is about, when there is one (erased with it).
    @OptionalField(key: "user_id") public var userID: UUID?
    @Field(key: "recipient") public var recipient: String
    @Field(key: "subject") public var subject: String
    @Field(key: "body_text") public var bodyText: String
    @OptionalField(key: "body_html") public var bodyHTML: String?
    @Field(key: "category") public var category: String
    @Field(key: "created_at") public var createdAt: Date
    @OptionalField(key: "sent_at") public var sentAt: Date?

    public init() {}
}

import FluentKit
import Foundation
import SQLKit

/// The mail outbox (`mail_outbox`): messages waiting to be sent, or sent.
public enum MailOutboxStore {
    public static func insert(_ message: MailOutboxModel, on db: any Database) async throws {
        try await message.create(on: db)
    }

    public static func find(_ id: UUID, on db: any Database) async throws -> MailOutboxModel? {
        try await MailOutboxModel.find(id, on: db)
    }

    /// The messages queued to `recipient` after `since`.
    public static func queued(to recipient: String, since: Date, on db: any Database) async throws -> [MailOutboxModel] {
        try await MailOutboxModel.query(on: db).filter(\.$recipient == recipient).filter(\.$createdAt > since).all()
    }

    public static func markSent(_ id: UUID, at now: Date, on db: any Database) async throws {
        try await sqlDatabase(db).raw("UPDATE mail_outbox SET sent_at = \(bind: now) WHERE id = \(bind: id)").run()
    }
}

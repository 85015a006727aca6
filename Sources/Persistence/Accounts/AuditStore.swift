import FluentKit
import Foundation

/// The audit log (`audit_log`): appended to, read by admins.
public enum AuditStore {
    public static func append(_ event: AuditEventModel, on db: any Database) async throws {
        try await event.create(on: db)
    }

    /// Up to `limit` events, newest first: those whose action starts with `actionPrefix` (when
    /// not empty), by `actor` (when given), before `before` (when given).
    public static func page(
        actionPrefix: String, actor: UUID?, before: Date?, limit: Int, on db: any Database
    ) async throws -> [AuditEventModel] {
        var query = AuditEventModel.query(on: db).sort(\.$occurredAt, .descending).limit(limit)
        if !actionPrefix.isEmpty { query = query.filter(\.$action, .custom("LIKE"), actionPrefix + "%") }
        if let before { query = query.filter(\.$occurredAt < before) }
        if let actor { query = query.filter(\.$actorUserID == actor) }
        return try await query.all()
    }
}

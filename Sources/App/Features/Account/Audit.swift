import Fluent
import Persistence
import Vapor

/// Appends to the audit log: security events and every admin action.
enum Audit {
    static func record(
        _ action: String, actor: UUID?, target: (type: String, id: String)? = nil,
        detail: [String: String] = [:], request: Request, on db: any Database
    ) async throws {
        let event = AuditEventModel()
        event.occurredAt = Date()
        event.actorUserID = actor
        event.action = action
        event.targetType = target?.type
        event.targetID = target?.id
        event.ipPrefix = request.ipPrefix
        let encoded = try JSONEncoder().encode(detail.isEmpty ? [:] : detail)
        event.detail = String(decoding: encoded, as: UTF8.self)
        try await event.create(on: db)
        request.logger.notice("audit", metadata: ["action": .string(action)])
    }
}

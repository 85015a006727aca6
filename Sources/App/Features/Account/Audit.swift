import Fluent
import Persistence
import Vapor

/// Appends to the audit log: security events and every admin action.
enum Audit {
    /// Records an event caused by `request` (its network is stored truncated).
    static func record(
        _ action: String, actor: UUID?, target: (type: String, id: String)? = nil,
        detail: [String: String] = [:], request: Request, on db: any Database
    ) async throws {
        try await append(action, actor: actor, target: target, detail: detail, origin: request.ipPrefix, at: request.pictor.clock.now(), on: db)
        request.logger.notice("audit", metadata: ["action": .string(action)])
    }

    /// Records an event; `origin` is the truncated network, or e.g. "command line".
    static func append(
        _ action: String, actor: UUID?, target: (type: String, id: String)? = nil,
        detail: [String: String] = [:], origin: String, at now: Date, on db: any Database
    ) async throws {
        let event = AuditEventModel()
        event.occurredAt = now
        event.actorUserID = actor
        event.action = action
        event.targetType = target?.type
        event.targetID = target?.id
        event.ipPrefix = origin
        event.detail = String(decoding: try JSONEncoder().encode(detail), as: UTF8.self)
        try await AuditStore.append(event, on: db)
    }
}

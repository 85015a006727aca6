import Domain
import FluentKit
import Foundation
import SQLKit

/// Queries and state changes of generations. Every change of state is one conditional
/// `UPDATE … WHERE state IN (…)`, so two actors racing (a worker finishing, the owner
/// cancelling) cannot both win: exactly one move happens, and only its side effects follow.
public enum GenerationStore {
    /// What changes with a move besides the state.
    public struct Move: Sendable {
        public var reason: String?
        public var creditsCharged: Int?
        public var progress: Double?

        public init(reason: String? = nil, creditsCharged: Int? = nil, progress: Double? = nil) {
            self.reason = reason
            self.creditsCharged = creditsCharged
            self.progress = progress
        }
    }

    /// Moves the generation to `to` if it is now in one of `from`. True when it moved.
    public static func move(
        _ id: UUID, from: [GenerationState], to: GenerationState, _ move: Move = Move(), now: Date, on db: any Database
    ) async throws -> Bool {
        let sql = try sqlDatabase(db)
        var update = sql.update(GenerationModel.schema)
            .set("state", to: to.rawValue)
            .set("updated_at", to: now)
            .where("id", .equal, id)
            .where("state", .in, from.map(\.rawValue))
        if to == .running { update = update.set("started_at", to: now) }
        if to == .queued { update = update.set("progress", to: 0.0) }
        if to.isFinal { update = update.set("finished_at", to: now) }
        if let reason = move.reason { update = update.set("reason", to: reason) }
        if let charged = move.creditsCharged { update = update.set("credits_charged", to: charged) }
        if let progress = move.progress { update = update.set("progress", to: progress) }
        return try await update.returning("id").all().isEmpty == false
    }

    /// Records progress of a running generation (ignored once it has moved on).
    public static func setProgress(_ id: UUID, _ progress: Double, now: Date, on db: any Database) async throws {
        try await sqlDatabase(db).update(GenerationModel.schema)
            .set("progress", to: min(max(progress, 0), 1))
            .set("updated_at", to: now)
            .where("id", .equal, id)
            .where("state", .equal, GenerationState.running.rawValue)
            .run()
    }

    /// The owner's generation, or nil: another user's id is treated as unknown.
    public static func find(_ id: UUID, of userID: UUID, on db: any Database) async throws -> GenerationModel? {
        try await GenerationModel.query(on: db).filter(\.$id == id).filter(\.$userID == userID).first()
    }

    public static func find(idempotencyKey: String, of userID: UUID, on db: any Database) async throws -> GenerationModel? {
        try await GenerationModel.query(on: db)
            .filter(\.$userID == userID).filter(\.$idempotencyKey == idempotencyKey).first()
    }

    /// A page of the owner's generations, newest first, after `cursor` (keyset pagination).
    public static func page(of userID: UUID, after cursor: PageCursor?, limit: Int, on db: any Database) async throws -> [GenerationModel] {
        var query = GenerationModel.query(on: db).filter(\.$userID == userID)
        if let cursor {
            query = query.group(.or) { either in
                either.filter(\.$createdAt < cursor.createdAt)
                either.group(.and) { tie in
                    tie.filter(\.$createdAt == cursor.createdAt).filter(\.$id < cursor.id)
                }
            }
        }
        return try await query.sort(\.$createdAt, .descending).sort(\.$id, .descending).limit(limit).all()
    }

    public static func images(of generationID: UUID, on db: any Database) async throws -> [GenerationImageModel] {
        try await GenerationImageModel.query(on: db).filter(\.$generationID == generationID).sort(\.$position).all()
    }

    public static func images(of generationIDs: [UUID], on db: any Database) async throws -> [UUID: [GenerationImageModel]] {
        guard !generationIDs.isEmpty else { return [:] }
        let rows = try await GenerationImageModel.query(on: db).filter(\.$generationID ~~ generationIDs).sort(\.$position).all()
        return Dictionary(grouping: rows, by: \.generationID)
    }

    /// How many generations (anyone's) were queued before this one and are still waiting.
    public static func queuePosition(of generation: GenerationModel, on db: any Database) async throws -> Int {
        try await GenerationModel.query(on: db)
            .filter(\.$state == GenerationState.queued.rawValue)
            .filter(\.$createdAt < generation.createdAt)
            .count()
    }
}

/// Where a page of a list ends: the last row's time and id.
public struct PageCursor: Sendable, Equatable {
    public let createdAt: Date
    public let id: UUID

    public init(createdAt: Date, id: UUID) {
        self.createdAt = createdAt
        self.id = id
    }

    /// An opaque token for URLs: `<milliseconds>.<uuid>`.
    public var token: String { "\(Int64((createdAt.timeIntervalSince1970 * 1000).rounded())).\(id.uuidString.lowercased())" }

    public init?(token: String) {
        let parts = token.split(separator: ".", maxSplits: 1)
        guard parts.count == 2, let millis = Int64(parts[0]), let id = UUID(uuidString: String(parts[1])) else { return nil }
        self.createdAt = Date(timeIntervalSince1970: Double(millis) / 1000)
        self.id = id
    }
}

import Domain
import FluentKit
import Foundation
import SQLKit

/// Queries and state changes of generations. Every change of state is one conditional
/// `UPDATE … WHERE state IN (…)`, so two actors racing (a worker finishing, the owner
/// cancelling) cannot both win: exactly one move happens, and only its side effects follow.
///
/// On PostgreSQL every change a generation's followers should see (start, move, progress)
/// also announces itself on `changesChannel`, in the same statement: `NOTIFY` is delivered when
/// the surrounding transaction commits, and only for a row that really changed. Each server
/// process `LISTEN`s there and wakes its own event streams.
public enum GenerationStore {
    /// The PostgreSQL notification channel changes are announced on (payload: the generation's id).
    public static let changesChannel = "pictor_generations"

    /// What changes with a move besides the state.
    public struct Move: Sendable {
        public var reason: String?
        public var creditsCharged: Int?
        public var progress: Double?
        /// The catalog id of the model that delivered (the chosen one or its fallback).
        public var modelUsed: String?

        public init(reason: String? = nil, creditsCharged: Int? = nil, progress: Double? = nil, modelUsed: String? = nil) {
            self.reason = reason
            self.creditsCharged = creditsCharged
            self.progress = progress
            self.modelUsed = modelUsed
        }
    }

    /// Inserts a new generation (plain SQL: every submission goes through here).
    public static func insert(_ g: GenerationModel, on db: any Database) async throws {
        try await sqlDatabase(db).raw(
            """
            INSERT INTO generations (id, user_id, model, prompt_sealed, negative_prompt_sealed, width, height, count, seed,
                style, reference_ids, state, reason, progress, price_per_image, credits_held, credits_charged,
                idempotency_key, request_hash, job_id, created_at, started_at, finished_at, updated_at, search_terms)
            VALUES (\(bind: g.id!), \(bind: g.userID), \(bind: g.model), \(bind: g.promptSealed), \(bind: g.negativePromptSealed),
                \(bind: g.width), \(bind: g.height), \(bind: g.count), \(bind: g.seed), \(bind: g.style), \(bind: g.referenceIDs),
                \(bind: g.state), \(bind: g.reason), \(bind: g.progress), \(bind: g.pricePerImage), \(bind: g.creditsHeld),
                \(bind: g.creditsCharged), \(bind: g.idempotencyKey), \(bind: g.requestHash), \(bind: g.jobID),
                \(bind: g.createdAt), \(bind: g.startedAt), \(bind: g.finishedAt), \(bind: g.updatedAt), \(bind: g.searchTerms))
            """
        ).run()
    }

    /// Records one delivered image (plain SQL, like `insert`).
    public static func insert(_ i: GenerationImageModel, on db: any Database) async throws {
        try await sqlDatabase(db).raw(
            """
            INSERT INTO generation_images (id, generation_id, user_id, position, blob_key, thumbnail_key, format, width, height,
                bytes, thumbnail_bytes, sha256, digital_source_type, created_at)
            VALUES (\(bind: i.id!), \(bind: i.generationID), \(bind: i.userID), \(bind: i.position), \(bind: i.blobKey),
                \(bind: i.thumbnailKey), \(bind: i.format), \(bind: i.width), \(bind: i.height), \(bind: i.bytes),
                \(bind: i.thumbnailBytes), \(bind: i.sha256), \(bind: i.digitalSourceType), \(bind: i.createdAt))
            """
        ).run()
    }

    /// Moves the generation to `to` if it is now in one of `from`. True when it moved.
    public static func move(
        _ id: UUID, from: [GenerationState], to: GenerationState, _ move: Move = Move(), now: Date, on db: any Database
    ) async throws -> Bool {
        var assignments: [SQLQueryString] = ["state = \(bind: to.rawValue)", "updated_at = \(bind: now)"]
        if to == .running { assignments.append("started_at = \(bind: now)") }
        if to.isFinal { assignments.append("finished_at = \(bind: now)") }
        if let reason = move.reason { assignments.append("reason = \(bind: reason)") }
        if let charged = move.creditsCharged { assignments.append("credits_charged = \(bind: charged)") }
        // Back in the queue, a generation starts again from nothing unless told otherwise.
        if let progress = move.progress ?? (to == .queued ? 0 : nil) { assignments.append("progress = \(bind: progress)") }
        if let model = move.modelUsed { assignments.append("model_used = \(bind: model)") }
        let sql = try sqlDatabase(db)
        return try await sql.raw(
            announcing(
                """
                UPDATE generations SET \(assignments.joined(separator: ", "))
                WHERE id = \(bind: id) AND state IN (\(binds: from.map(\.rawValue)))
                RETURNING id
                """, id: id, on: sql)
        ).first() != nil
    }

    /// Moves a queued generation (or one whose worker died while it was running) to `running`
    /// and returns it as it now is; nil when it has ended or does not exist.
    public static func start(_ id: UUID, now: Date, on db: any Database) async throws -> GenerationModel? {
        let sql = try sqlDatabase(db)
        let row = try await sql.raw(
            announcing(
                """
                UPDATE generations SET state = \(unsafeRaw: GenerationState.running.sql), started_at = \(bind: now), updated_at = \(bind: now)
                WHERE id = \(bind: id) AND state IN (\(unsafeRaw: GenerationState.queued.sql), \(unsafeRaw: GenerationState.running.sql))
                RETURNING *
                """, id: id, on: sql)
        ).first()
        return try row.map(generation(from:))
    }

    /// `update` (an `UPDATE generations … RETURNING …` of the generation `id`) as it runs on
    /// `sql`: on PostgreSQL it also sends the change to `changesChannel` for the row it changed,
    /// in the same round trip; its rows are the update's, with one more column.
    static func announcing(_ update: SQLQueryString, id: UUID, on sql: any SQLDatabase) -> SQLQueryString {
        guard sql.dialect.name == "postgresql" else { return update }
        return notifying(update, channel: changesChannel, payload: id.uuidString)
    }

    /// A generation from a row of `SELECT *` (plain decoding, no reflection).
    static func generation(from row: any SQLRow) throws -> GenerationModel {
        let g = GenerationModel()
        g.id = try row.decode(column: "id", as: UUID.self)
        g.userID = try row.decode(column: "user_id", as: UUID.self)
        g.model = try row.decode(column: "model", as: String.self)
        g.promptSealed = try row.decode(column: "prompt_sealed", as: String.self)
        g.negativePromptSealed = try row.decode(column: "negative_prompt_sealed", as: String.self)
        g.width = try row.decode(column: "width", as: Int.self)
        g.height = try row.decode(column: "height", as: Int.self)
        g.count = try row.decode(column: "count", as: Int.self)
        g.seed = try row.decode(column: "seed", as: Int64.self)
        g.style = try row.decode(column: "style", as: String.self)
        g.referenceIDs = try row.decode(column: "reference_ids", as: String.self)
        g.state = try row.decode(column: "state", as: GenerationState.self)
        g.reason = try row.decode(column: "reason", as: String?.self)
        g.progress = try row.decode(column: "progress", as: Double.self)
        g.pricePerImage = try row.decode(column: "price_per_image", as: Int.self)
        g.creditsHeld = try row.decode(column: "credits_held", as: Int.self)
        g.creditsCharged = try row.decode(column: "credits_charged", as: Int.self)
        g.idempotencyKey = try row.decode(column: "idempotency_key", as: String?.self)
        g.requestHash = try row.decode(column: "request_hash", as: String.self)
        g.jobID = try row.decode(column: "job_id", as: UUID?.self)
        g.createdAt = try row.decode(column: "created_at", as: Date.self)
        g.startedAt = try row.decode(column: "started_at", as: Date?.self)
        g.finishedAt = try row.decode(column: "finished_at", as: Date?.self)
        g.updatedAt = try row.decode(column: "updated_at", as: Date.self)
        g.modelUsed = try row.decode(column: "model_used", as: String?.self)
        g.searchTerms = try row.decode(column: "search_terms", as: String.self)
        g.favouritedAt = try row.decode(column: "favourited_at", as: Date?.self)
        g.deletedAt = try row.decode(column: "deleted_at", as: Date?.self)
        g.$id.exists = true
        return g
    }

    /// Records progress of a running generation (ignored once it has moved on). True when written.
    @discardableResult
    public static func setProgress(_ id: UUID, _ progress: Double, now: Date, on db: any Database) async throws -> Bool {
        let sql = try sqlDatabase(db)
        return try await sql.raw(
            announcing(
                """
                UPDATE generations SET progress = \(bind: min(max(progress, 0), 1)), updated_at = \(bind: now)
                WHERE id = \(bind: id) AND state = \(unsafeRaw: GenerationState.running.sql)
                RETURNING id
                """, id: id, on: sql)
        ).first() != nil
    }

    // The reads below serve every API call, event stream and gallery page: plain SQL and plain
    // decoding, because Fluent's query building and reflection cost more CPU than the rest of
    // such a request (docs/PERFORMANCE.md).

    /// The owner's generation, or nil: another user's id is treated as unknown.
    public static func find(_ id: UUID, of userID: UUID, on db: any Database) async throws -> GenerationModel? {
        try await sqlDatabase(db).raw(
            """
            SELECT * FROM generations WHERE id = \(bind: id) AND user_id = \(bind: userID) AND deleted_at IS NULL
            """
        ).first().map(generation(from:))
    }

    /// A generation's state alone, or nil if there is no such row: what a worker checks while the
    /// provider works, to notice that the owner cancelled.
    public static func state(of id: UUID, on db: any Database) async throws -> GenerationState? {
        try await sqlDatabase(db).raw("SELECT state FROM generations WHERE id = \(bind: id)").first()
            .flatMap { GenerationState(rawValue: try $0.decode(column: "state", as: String.self)) }
    }

    public static func find(idempotencyKey: String, of userID: UUID, on db: any Database) async throws -> GenerationModel? {
        try await sqlDatabase(db).raw(
            """
            SELECT * FROM generations WHERE user_id = \(bind: userID) AND idempotency_key = \(bind: idempotencyKey)
            """
        ).first().map(generation(from:))
    }

    public static func images(of generationID: UUID, on db: any Database) async throws -> [GenerationImageModel] {
        try await sqlDatabase(db).raw(
            """
            SELECT * FROM generation_images WHERE generation_id = \(bind: generationID) ORDER BY position
            """
        ).all().map(image(from:))
    }

    public static func images(of generationIDs: [UUID], on db: any Database) async throws -> [UUID: [GenerationImageModel]] {
        guard !generationIDs.isEmpty else { return [:] }
        let rows = try await sqlDatabase(db).raw(
            """
            SELECT * FROM generation_images WHERE generation_id IN (\(binds: generationIDs)) ORDER BY position
            """
        ).all().map(image(from:))
        return Dictionary(grouping: rows, by: \.generationID)
    }

    /// An image from a row of `SELECT *` (plain decoding, no reflection).
    static func image(from row: any SQLRow) throws -> GenerationImageModel {
        let i = GenerationImageModel()
        i.id = try row.decode(column: "id", as: UUID.self)
        i.generationID = try row.decode(column: "generation_id", as: UUID.self)
        i.userID = try row.decode(column: "user_id", as: UUID.self)
        i.position = try row.decode(column: "position", as: Int.self)
        i.blobKey = try row.decode(column: "blob_key", as: String.self)
        i.thumbnailKey = try row.decode(column: "thumbnail_key", as: String.self)
        i.format = try row.decode(column: "format", as: String.self)
        i.width = try row.decode(column: "width", as: Int.self)
        i.height = try row.decode(column: "height", as: Int.self)
        i.bytes = try row.decode(column: "bytes", as: Int.self)
        i.thumbnailBytes = try row.decode(column: "thumbnail_bytes", as: Int.self)
        i.sha256 = try row.decode(column: "sha256", as: String.self)
        i.digitalSourceType = try row.decode(column: "digital_source_type", as: String.self)
        i.createdAt = try row.decode(column: "created_at", as: Date.self)
        i.$id.exists = true
        return i
    }

    /// How many of `userID`'s generations are queued or running. On PostgreSQL the person's row is
    /// locked first (until the transaction ends), so two submissions at once count one after
    /// the other; SQLite's write transaction already runs them one at a time.
    public static func activeCount(of userID: UUID, on db: any Database) async throws -> Int {
        let sql = try sqlDatabase(db)
        if sql.dialect.name == "postgresql" {
            try await sql.raw("SELECT id FROM users WHERE id = \(bind: userID) FOR UPDATE").run()
        }
        return try await GenerationModel.query(on: db)
            .filter(\.$userID == userID)
            .filter(\.$state ~~ [GenerationState.queued, GenerationState.running])
            .count()
    }

    /// How many generations (anyone's) were queued before this one and are still waiting.
    public static func queuePosition(of generation: GenerationModel, on db: any Database) async throws -> Int {
        let created = generation.createdAt.roundedToMillisecond
        return try await GenerationModel.query(on: db)
            .filter(\.$state == GenerationState.queued)
            .filter(\.$createdAt < created)
            .filter(\.$id != generation.id!)
            .count()
    }

    /// Any generation by id (the job queue's view: whoever owns it).
    public static func find(_ id: UUID, on db: any Database) async throws -> GenerationModel? {
        try await GenerationModel.find(id, on: db)
    }

    /// Queued or running generations whose job is gone, dead or finished: left open by a
    /// worker that died on every attempt, or crashed between its two last steps.
    public static func orphaned(on db: any Database) async throws -> [UUID] {
        try await sqlDatabase(db).raw(
            """
            SELECT g.id AS id FROM generations g LEFT JOIN jobs j ON j.id = g.job_id
            WHERE g.state IN (\(unsafeRaw: GenerationState.queued.sql), \(unsafeRaw: GenerationState.running.sql))
            AND (j.id IS NULL OR j.state IN (\(unsafeRaw: JobState.dead.sql), \(unsafeRaw: JobState.succeeded.sql)))
            """
        ).all().map { try $0.decode(column: "id", as: UUID.self) }
    }

    /// The states of those of `ids` that exist.
    public static func states(of ids: [UUID], on db: any Database) async throws -> [UUID: GenerationState] {
        guard !ids.isEmpty else { return [:] }
        let rows = try await GenerationModel.query(on: db).filter(\.$id ~~ ids).all()
        return Dictionary(rows.compactMap { row in row.id.map { ($0, row.state) } }, uniquingKeysWith: { first, _ in first })
    }

    /// Every blob key (images and thumbnails) that image rows of these generations record.
    public static func recordedBlobKeys(ofGenerations ids: [UUID], on db: any Database) async throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        let images = try await GenerationImageModel.query(on: db).filter(\.$generationID ~~ ids).all()
        return Set(images.flatMap { [$0.blobKey, $0.thumbnailKey] })
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

    /// An opaque token for URLs (`CursorToken`).
    public var token: String { CursorToken.make(milliseconds: createdAt.milliseconds, id: id) }

    public init?(token: String) {
        guard let (milliseconds, id) = CursorToken.parse(token) else { return nil }
        self.createdAt = Date(milliseconds: Int64(milliseconds))
        self.id = id
    }

}

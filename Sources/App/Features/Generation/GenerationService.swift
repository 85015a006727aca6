import Domain
import Fluent
import Foundation
import Persistence
import Vapor

/// What a person or API client submits.
struct GenerationSubmission: Sendable {
    var draft: GenerationDraft
    /// A catalog id; nil for the default model.
    var model: String?
    var referenceIDs: [UUID]
    /// Set by a seed that was present but not a whole number in range.
    var seedIsInvalid = false
    var idempotencyKey: String?
}

/// Submitting and cancelling generations: the two transactions a person's action causes.
/// (The worker's side is `GenerationJobHandler`.)
enum GenerationService {
    static let jobKind = "generation.run"
    static let ourFault = "Something went wrong on our side. You were not charged; please try again."
    static let maxReferenceImages = 4

    struct JobPayload: Codable {
        let generationID: UUID
    }

    struct Submitted {
        let generation: GenerationModel
        /// The owner's content key (to show the prompt without reading it again).
        let key: ContentKey
        /// True when an earlier request with the same Idempotency-Key made it.
        let replayed: Bool
    }

    /// Validates, then in one transaction: places the credit hold, inserts the generation
    /// (`queued`) and its job, and with `attachingReferences` ties the reference images uploaded
    /// with the request to it (they go when it is purged). With an Idempotency-Key, a repeat returns the first generation
    /// and creates nothing; a different request under a used key is refused.
    static func submit(
        _ submission: GenerationSubmission, user: UUID, attachingReferences: Bool = false, app: Application, on db: any Database
    ) async throws -> Submitted {
        if let key = submission.idempotencyKey { try IdempotencyKey.validate(key) }
        let contentKey = try await app.pictor.contentKeys.key(for: user, on: db)
        let hash = requestHash(submission, key: contentKey)
        if let key = submission.idempotencyKey, let existing = try await GenerationStore.find(idempotencyKey: key, of: user, on: db) {
            return try replay(existing, hash: hash, key: contentKey)
        }
        let (entry, request) = try await check(submission, user: user, app: app, on: db)
        let now = app.pictor.clock.now().roundedToMillisecond
        let generation = GenerationModel()
        generation.id = UUID()
        generation.userID = user
        generation.model = entry.id
        generation.promptSealed = try contentKey.seal(text: request.prompt)
        generation.negativePromptSealed = try contentKey.seal(text: request.negativePrompt)
        generation.width = request.size.width
        generation.height = request.size.height
        generation.count = request.count
        generation.seed = Int64(request.seed)
        generation.style = request.style
        generation.referenceIDs = String(decoding: try JSONEncoder().encode(submission.referenceIDs), as: UTF8.self)
        generation.state = .queued
        generation.progress = 0
        generation.pricePerImage = entry.pricePerImage
        generation.creditsHeld = GenerationPricing.hold(pricePerImage: entry.pricePerImage, count: request.count)
        generation.creditsCharged = 0
        generation.idempotencyKey = submission.idempotencyKey
        generation.requestHash = hash
        generation.searchTerms = SearchTokens.tokens(for: request.prompt, key: contentKey).joined(separator: " ")
        generation.createdAt = now
        generation.updatedAt = now
        let payload = String(decoding: try JSONEncoder().encode(JobPayload(generationID: generation.id!)), as: UTF8.self)
        let credits = app.pictor.credits
        let maxActive = app.pictor.config.maxActiveGenerationsPerUser
        do {
            try await writeTransaction(on: db) { tx in
                guard try await GenerationStore.activeCount(of: user, on: tx) < maxActive else {
                    throw TooManyActiveGenerations(limit: maxActive)
                }
                generation.jobID = try await JobQueue.enqueue(
                    NewJob(kind: jobKind, payload: payload, maxAttempts: entry.maxAttempts), now: app.pictor.queueClock.now, on: tx)
                try await GenerationStore.insert(generation, on: tx)
                if attachingReferences {
                    try await ReferenceImageStore.attach(submission.referenceIDs, to: generation.id!, on: tx)
                }
                try await credits.hold(generation.creditsHeld, user: user, generation: generation.id!, now: now, on: tx)
            }
        } catch let error where (error as? any DatabaseError)?.isConstraintFailure == true && submission.idempotencyKey != nil {
            // Another request with the same key committed first: answer with its generation.
            guard let existing = try await GenerationStore.find(idempotencyKey: submission.idempotencyKey!, of: user, on: db)
            else { throw error }
            return try replay(existing, hash: hash, key: contentKey)
        }
        app.jobs.wake.wakeOne()
        return Submitted(generation: generation, key: contentKey, replayed: false)
    }

    /// The owner cancels a queued or running generation: it ends `cancelled` and its hold is
    /// released in one transaction. A running provider call is stopped by the worker, which
    /// sees the state change.
    static func cancel(_ id: UUID, user: UUID, app: Application, on db: any Database) async throws -> GenerationModel {
        guard let generation = try await GenerationStore.find(id, of: user, on: db) else { throw AccessError.notFound }
        let ended = try await end(generation, as: .cancelled, reason: "Cancelled by you. You were not charged.", app: app, on: db)
        guard ended else {
            throw GenerationConflict(message: "This generation has already finished; there is nothing to cancel.")
        }
        return try await GenerationStore.find(id, of: user, on: db) ?? generation
    }

    /// Ends a queued or running generation unhappily (failed, blocked, cancelled) with nothing
    /// charged. False when it had already ended (someone else's move won).
    @discardableResult
    static func end(
        _ generation: GenerationModel, as state: GenerationState, reason: String, app: Application, on db: any Database
    ) async throws -> Bool {
        let credits = app.pictor.credits
        let id = generation.id!
        let moved = try await writeTransaction(on: db) { tx -> Bool in
            guard
                try await GenerationStore.move(
                    id, from: [.queued, .running], to: state, .init(reason: reason, creditsCharged: 0), now: app.pictor.clock.now(), on: tx)
            else { return false }
            try await credits.settle(
                generation: id, user: generation.userID, held: generation.creditsHeld, captured: 0, now: app.pictor.clock.now(), on: tx)
            return true
        }
        if moved { app.pictor.generationEvents.changed(id) }
        return moved
    }

    // MARK: - Checks

    private static func check(
        _ submission: GenerationSubmission, user: UUID, app: Application, on db: any Database
    ) async throws -> (ModelCatalog.Entry, GenerationRequest) {
        let (entry, request, fieldErrors) = try fieldCheck(submission, app: app)
        let errors = fieldErrors + (try await referenceErrors(submission.referenceIDs, entry: entry, user: user, on: db))
        guard errors.isEmpty, let request else { throw GenerationInputError(fieldErrors: errors) }
        return (entry, request)
    }

    /// What can be checked before any image is read: the model, the text fields, and whether the
    /// model takes reference images at all. The studio runs it before it decodes the images that
    /// came with the form, so a form refused for its text costs no image work.
    static func checkFields(_ submission: GenerationSubmission, uploadedReferences: Int, app: Application) throws {
        var (entry, _, errors) = try fieldCheck(submission, app: app)
        if uploadedReferences > 0, !entry.capabilities.referenceImages {
            errors.append(FieldError(field: "references", message: Self.noReferences(entry)))
        }
        guard errors.isEmpty else { throw GenerationInputError(fieldErrors: errors) }
    }

    private static func fieldCheck(
        _ submission: GenerationSubmission, app: Application
    ) throws -> (ModelCatalog.Entry, GenerationRequest?, [FieldError]) {
        let catalog = app.pictor.models
        guard let entry = submission.model.map({ catalog.entry($0) }) ?? catalog.defaultEntry else {
            let offered = catalog.entries.map(\.id).joined(separator: ", ")
            throw GenerationInputError(fieldErrors: [FieldError(field: "model", message: "Choose one of the offered models: \(offered).")])
        }
        var errors: [FieldError] = []
        var request: GenerationRequest?
        switch GenerationRules.check(
            submission.draft, capabilities: entry.capabilities, styles: entry.styles, randomSeed: { UInt64.random(in: 0...UInt64.max) })
        {
        case .success(let checked): request = checked
        case .failure(let failure): errors += failure.fieldErrors
        }
        if submission.seedIsInvalid, !errors.contains(where: { $0.field == "seed" }) {
            errors.append(
                FieldError(field: "seed", message: "Use a whole number from 0 to \(GenerationRules.maxSeed), or leave it empty for a random seed."))
        }
        return (entry, request, errors)
    }

    private static func noReferences(_ entry: ModelCatalog.Entry) -> String {
        "\(entry.displayName) does not take reference images; remove them or choose another model."
    }

    private static func referenceErrors(_ ids: [UUID], entry: ModelCatalog.Entry, user: UUID, on db: any Database) async throws -> [FieldError] {
        guard !ids.isEmpty else { return [] }
        let field = "referenceImageIds"
        guard entry.capabilities.referenceImages else {
            return [FieldError(field: field, message: noReferences(entry))]
        }
        guard ids.count <= maxReferenceImages, Set(ids).count == ids.count else {
            return [FieldError(field: field, message: "Use at most \(maxReferenceImages) different reference images.")]
        }
        let found = try await ReferenceImageStore.find(ids, of: user, on: db).count
        guard found == ids.count else {
            return [FieldError(field: field, message: "A reference image was not found; it may have been deleted. Upload it again.")]
        }
        return []
    }

    private static func replay(_ existing: GenerationModel, hash: String, key: ContentKey) throws -> Submitted {
        guard existing.requestHash == hash else { throw IdempotencyKey.Reused() }
        guard existing.deletedAt == nil else {
            throw GenerationConflict(
                message: "The generation made with this Idempotency-Key has been deleted; send the request with a new key to make it again.")
        }
        return Submitted(generation: existing, key: key, replayed: true)
    }

    /// The request as submitted, so a retry with the same key can be told from a different
    /// request. Keyed with the user's content key: after erasure it confirms no guessed prompt.
    static func requestHash(_ submission: GenerationSubmission, key: ContentKey) -> String {
        let draft = submission.draft
        return key.mac([
            submission.model ?? "", draft.prompt, draft.negativePrompt, "\(draft.width)x\(draft.height)", "\(draft.count)",
            draft.seed.map(String.init) ?? (submission.seedIsInvalid ? "invalid" : ""), draft.style,
            submission.referenceIDs.map(\.uuidString).joined(separator: ","),
        ])
    }
}

/// The `Idempotency-Key` header's rules.
enum IdempotencyKey {
    static func validate(_ key: String) throws {
        guard IdempotencyKeyRule.isValid(key) else {
            throw GenerationInputError(fieldErrors: [
                FieldError(
                    field: "Idempotency-Key", message: "Use 1 to 255 visible ASCII characters, e.g. a UUID.")
            ])
        }
    }

    struct Reused: UserFacingError {
        var kind: FailureKind { .unprocessable }
        var userMessage: String {
            "This Idempotency-Key was already used for a different request. Use a new key for a new request."
        }
    }
}

/// A person has as many generations queued or running as one may (MAX_ACTIVE_GENERATIONS_PER_USER).
struct TooManyActiveGenerations: UserFacingError {
    let limit: Int
    var kind: FailureKind { .rateLimited }
    var userMessage: String {
        "You already have \(limit) generations waiting or running. Wait for some to finish, or cancel one, before starting more."
    }
}

struct GenerationConflict: UserFacingError {
    let message: String
    var kind: FailureKind { .conflict }
    var userMessage: String { message }
}

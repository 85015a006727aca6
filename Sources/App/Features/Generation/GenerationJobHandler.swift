import Domain
import Fluent
import Foundation
import Imaging
import Persistence
import Storage
import Synchronization
import Vapor

/// Runs one generation: calls its model with a timeout, stores every output (sealed) in the
/// blob store, then in one transaction records the images, captures the credits for what was
/// delivered and marks it succeeded. Every unhappy end goes through `GenerationService.end`,
/// which charges nothing.
struct GenerationJobHandler: JobHandler {
    let kind = GenerationService.jobKind

    /// How often a running generation's progress is written and its cancellation checked.
    static let watchInterval: Duration = .milliseconds(250)

    func run(_ job: ClaimedJob, context: JobContext) async throws {
        let app = context.application
        guard let payload = try? JSONDecoder().decode(GenerationService.JobPayload.self, from: Data(job.payload.utf8)) else {
            throw JobFailure.permanent("unreadable generation.run payload")
        }
        do {
            try await attempt(payload.generationID, job: job, context: context)
        } catch {
            // Shutting down: the runner hands the job back. A provider's retryable failure, or
            // storage or database trouble: retried while attempts remain. Otherwise the
            // generation ends failed, so that no generation is left running with its credits
            // held when its job ends.
            if Task.isCancelled { throw error }
            // Back in the queue for the wait, rather than shown running with old progress.
            if case JobFailure.postponed = error {
                await Self.requeue(payload.generationID, app: app)
                throw error
            }
            if case JobFailure.permanent = error {
            } else if job.attempt < job.maxAttempts {
                await Self.requeue(payload.generationID, app: app)
                throw error
            }
            context.logger.error("generation failed for good", metadata: ["error": .string("\(error)")])
            if let generation = try await GenerationStore.find(payload.generationID, on: app.db) {
                try await GenerationService.end(generation, as: .failed, reason: GenerationService.ourFault, app: app, on: app.db)
            }
            // The job ends here too, completed by this handler: a failed final transaction may
            // have marked it done before it rolled back (see `JobContext.complete`).
            _ = try await context.complete(on: app.db)
        }
    }

    private static func requeue(_ id: UUID, app: Application) async {
        if (try? await GenerationStore.move(id, from: [.running], to: .queued, now: app.pictor.clock.now(), on: app.db)) == true {
            app.pictor.generationEvents.changed(id)
        }
    }

    private func attempt(_ id: UUID, job: ClaimedJob, context: JobContext) async throws {
        let app = context.application
        let logger = context.logger
        // A generation still `running` here was being made by a worker that died: run it again.
        guard let generation = try await GenerationStore.start(id, now: app.pictor.clock.now(), on: app.db) else { return }
        app.pictor.generationEvents.changed(id)

        guard let entry = app.pictor.models.entry(generation.model) else {
            try await GenerationService.end(
                generation, as: .failed, reason: "The model \(generation.model) is no longer offered. You were not charged.", app: app, on: app.db)
            return
        }
        guard let contentKey = try await app.pictor.contentKeys.existingKey(for: generation.userID, on: app.db) else {
            throw JobFailure.permanent("the owner's content key is gone")
        }
        guard let request = try await providerRequest(for: generation, key: contentKey, app: app) else {
            try await GenerationService.end(
                generation, as: .failed, reason: "A reference image was deleted before the generation started. You were not charged.", app: app,
                on: app.db)
            return
        }
        let delivered: [ProviderImage]
        let usedModel: String
        do {
            (delivered, usedModel) = try await callRouted(
                entry, with: request, generationID: id, userID: generation.userID, app: app, logger: logger)
        } catch let error as ProviderError {
            // A worker shutting down hands the job back, whatever the provider made of it.
            if Task.isCancelled { throw CancellationError() }
            try await handle(error, generation: generation, job: job, app: app, logger: logger)
            return
        } catch is OwnerCancelled {
            logger.info("generation cancelled by its owner while running")
            return
        } catch let none as NoModelFree {
            // Not an attempt: the job waits for the model. A model resting after failures is
            // waited for until the generation's deadline; a busy one is working, and the job
            // waits its turn however long the queue is.
            let deadline = generation.createdAt.addingTimeInterval(TimeInterval(app.pictor.config.generationDeadlineSeconds))
            if case .resting(let until) = none, until >= deadline {
                logger.warning("generation gave up waiting for its model", metadata: ["reason": .string(none.reason)])
                let minutes = max(1, app.pictor.config.generationDeadlineSeconds / 60)
                try await GenerationService.end(
                    generation, as: .failed,
                    reason: "The image model was not available for \(minutes) minute\(minutes == 1 ? "" : "s"). You were not charged.", app: app,
                    on: app.db)
                return
            }
            // In the queue's clock (the database's), which `run_at` is compared with.
            throw JobFailure.postponed(
                until: app.pictor.queueClock.now.addingTimeInterval(max(0, none.until.timeIntervalSince(app.pictor.clock.now()))),
                reason: none.reason)
        }
        guard !delivered.isEmpty else {
            try await handle(.permanent("it returned no images"), generation: generation, job: job, app: app, logger: logger)
            return
        }
        try await deliver(delivered, for: generation, model: usedModel, key: contentKey, context: context)
    }

    /// No model of the route could be called now. Not a failure of the generation: it waits.
    enum NoModelFree: Error {
        /// At least one was at its call limit: worth asking again at `until` (`busyWait` on).
        case busy(until: Date)
        /// Every one's breaker was open, the first to let a trial through at `until`.
        case resting(until: Date)

        var until: Date {
            switch self {
            case .busy(let until), .resting(let until): until
            }
        }

        var reason: String {
            switch self {
            case .busy: "the model is busy with as many generations as it may run at once"
            case .resting: "the model is resting after repeated failures"
            }
        }
    }

    /// How long a worker waits for a busy model's call slot before it hands the job back to the
    /// queue (for that long again) and takes another job, perhaps another model's.
    static let busyWait: Duration = .seconds(2)

    /// Tries the chosen model, then its fallback; a model that is busy is waited for briefly.
    private func callRouted(
        _ entry: ModelCatalog.Entry, with request: GenerationRequest, generationID: UUID, userID: UUID, app: Application, logger: Logger
    ) async throws -> ([ProviderImage], String) {
        let waitEnds = ContinuousClock.now + Self.busyWait
        while true {
            do {
                return try await routeOnce(entry, with: request, generationID: generationID, userID: userID, app: app, logger: logger)
            } catch NoModelFree.busy where ContinuousClock.now < waitEnds {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// One pass over the route, skipping any model whose breaker is open or that is at its call
    /// limit. Only retryable failures (timeouts, 429, 5xx) fail over and count against a
    /// provider's health; a refusal or a blocked image ends the attempt as it is.
    private func routeOnce(
        _ entry: ModelCatalog.Entry, with request: GenerationRequest, generationID: UUID, userID: UUID, app: Application, logger: Logger
    ) async throws -> ([ProviderImage], String) {
        let health = app.pictor.providerHealth
        var lastError: ProviderError?
        var restingUntil: Date?
        var busy = false
        for candidate in app.pictor.models.route(for: entry, request: request) {
            let admission: CircuitBreaker.Admission
            switch health.reserve(candidate.id, now: app.pictor.clock.now()) {
            case .granted(let granted): admission = granted
            case .resting(let until):
                logger.notice("provider skipped: its breaker is open", metadata: ["model": .string(candidate.id)])
                restingUntil = min(restingUntil ?? until, until)
                continue
            case .busy:
                busy = true
                continue
            }
            defer { health.release(candidate.id) }
            // From here every way out tells the breaker how the call ended: a trial call (its
            // breaker half-open) that ended any other way than success or a retryable failure
            // would leave it half-open, refusing every call, for good.
            let started = ContinuousClock.now
            do {
                if let processor = candidate.processor {
                    try await DisclosureStore.record(
                        Disclosure(
                            userID: userID, generationID: generationID, processor: processor, purpose: "Making the images you asked for",
                            categories: Self.categories(sentIn: request), createdAt: app.pictor.clock.now()), on: app.db)
                }
                // Stopped while preparing: hand the job back before anything is sent, or the next
                // worker's call would be a second, paid one.
                try Task.checkCancellation()
                let images = try await call(candidate, with: request, generationID: generationID, app: app)
                health.recordSuccess(candidate.id, latency: ContinuousClock.now - started)
                return (images, candidate.id)
            } catch ProviderError.retryable(let reason) {
                if Task.isCancelled {
                    health.recordAbandoned(candidate.id, admission: admission)
                    throw CancellationError()
                }
                health.recordFailure(candidate.id, now: app.pictor.clock.now())
                tellOperator("provider failed; trying the next one if any", model: candidate.id, reason: reason, health: health, logger: logger)
                lastError = .retryable(reason)
            } catch {
                // A refusal, a blocked image, the owner's cancellation, shutting down: nothing
                // said about the provider's health. What the provider said goes to the operator.
                health.recordAbandoned(candidate.id, admission: admission)
                if case .permanent(let reason) = error as? ProviderError {
                    tellOperator("provider could not run the request", model: candidate.id, reason: reason, health: health, logger: logger)
                }
                throw error
            }
        }
        if let lastError { throw lastError }
        let now = app.pictor.clock.now()
        throw busy ? NoModelFree.busy(until: now.addingTimeInterval(Self.busyWait.seconds)) : NoModelFree.resting(until: restingUntil ?? now)
    }

    /// A provider's own words about a failure go to the operator, scrubbed: the log and `/admin`.
    private func tellOperator(_ message: Logger.Message, model: String, reason: String, health: ProviderHealth, logger: Logger) {
        health.recordProblem(model, reason)
        logger.warning(message, metadata: ["model": .string(model), "reason": .string(ProviderText.scrubbed(reason))])
    }

    /// Decides what a provider failure means for the generation and the job.
    private func handle(_ error: ProviderError, generation: GenerationModel, job: ClaimedJob, app: Application, logger: Logger) async throws {
        switch GenerationFailurePolicy.decide(error, attempt: job.attempt, maxAttempts: job.maxAttempts) {
        case .retry(let reason):
            logger.notice("provider failed; retrying", metadata: ["reason": .string(ProviderText.scrubbed(reason))])
            throw JobFailure.retryable(reason)  // `run` puts the generation back in the queue
        case .fail(let reason):
            try await GenerationService.end(generation, as: .failed, reason: reason + " You were not charged.", app: app, on: app.db)
        case .block(let reason):
            try await GenerationService.end(generation, as: .blocked, reason: reason + " You were not charged.", app: app, on: app.db)
        case .cancelled:
            try await GenerationService.end(generation, as: .cancelled, reason: "Cancelled. You were not charged.", app: app, on: app.db)
        }
    }

    /// Calls the provider while a watcher records progress and notices cancellation by the
    /// owner. The first of the provider's answer, the timeout and the owner's cancellation
    /// wins, and the others are cancelled without waiting for them: a provider that ignores
    /// cancellation cannot hold the worker past its timeout.
    private func call(_ entry: ModelCatalog.Entry, with request: GenerationRequest, generationID: UUID, app: Application) async throws
        -> [ProviderImage]
    {
        let progress = LatestProgress()
        let first = FirstResult<[ProviderImage]>()
        let tasks = [
            Task {
                do {
                    let images = try await entry.provider.generate(request) { fraction in
                        // A provider's number: kept within 0…1 before it is stored and shown as a percentage.
                        guard fraction.isFinite else { return }
                        progress.value.withLock { $0 = min(max(fraction, 0), 1) }
                    }
                    await first.settle(with: .success(images))
                } catch {
                    await first.settle(with: .failure(error))
                }
            },
            Task {
                guard (try? await Task.sleep(for: entry.timeout)) != nil else { return }
                let seconds = Int(entry.timeout.components.seconds)
                await first.settle(with: .failure(ProviderError.retryable(GenerationFailurePolicy.timeoutReason(seconds: seconds))))
            },
            Task {
                var written: Double?
                while (try? await Task.sleep(for: Self.watchInterval)) != nil {
                    // Database trouble here must not abort a provider call that is going well.
                    if let current = progress.value.withLock({ $0 }), current != written,
                        let recorded = try? await GenerationStore.setProgress(generationID, current, now: app.pictor.clock.now(), on: app.db)
                    {
                        if recorded { app.pictor.generationEvents.changed(generationID) }
                        written = current
                    }
                    if let state = try? await GenerationStore.state(of: generationID, on: app.db), state != .running {
                        await first.settle(with: .failure(OwnerCancelled()))
                        return
                    }
                }
            },
        ]
        defer { for task in tasks { task.cancel() } }
        return try await withTaskCancellationHandler {
            try await first.value()
        } onCancel: {
            Task { await first.settle(with: .failure(CancellationError())) }
        }
    }

    /// What a provider call sends about the person, in words for the privacy centre.
    static func categories(sentIn request: GenerationRequest) -> String {
        var sent = ["prompt"]
        if !request.negativePrompt.isEmpty { sent.append("negative prompt") }
        if !request.referenceImages.isEmpty { sent.append("\(request.referenceImages.count) reference image(s)") }
        if !request.endUser.isEmpty { sent.append("pseudonymous user id") }
        return sent.joined(separator: ", ")
    }

    /// Stores every output, then records them and captures the credits in one transaction.
    /// If the generation was cancelled meanwhile, the stored bytes are removed again.
    private func deliver(
        _ delivered: [ProviderImage], for generation: GenerationModel, model usedModel: String, key contentKey: ContentKey, context: JobContext
    ) async throws {
        let app = context.application
        let logger = context.logger
        let id = generation.id!
        let references = try generation.decodedReferenceIDs()
        let source: DigitalSourceType = references.isEmpty ? .trainedAlgorithmicMedia : .compositeWithTrainedAlgorithmicMedia
        let pipeline = OutputPipeline(limits: app.pictor.config.outputLimits)
        let outputs: [OutputPipeline.Output]
        do {
            let images = Array(delivered.prefix(generation.count))
            outputs = try await ImageWork.run { try images.map { try pipeline.process($0, source: source) } }
        } catch let error as ImagingError {
            logger.warning("provider output unreadable", metadata: ["error": .string("\(error)")])
            try await GenerationService.end(
                generation, as: .failed, reason: "The image model returned an image that could not be read. You were not charged.", app: app,
                on: app.db)
            return
        }
        let now = app.pictor.clock.now().roundedToMillisecond
        let attemptToken = Tokens.random(bytes: 6)
        let rows = try outputs.enumerated().map { position, output in
            let row = GenerationImageModel()
            row.id = UUID()
            row.generationID = id
            row.userID = generation.userID
            row.position = position
            row.blobKey = try BlobKey.generationImage(
                user: generation.userID, generation: id, position: position, attempt: attemptToken, fileExtension: output.format.fileExtension
            ).rawValue
            row.thumbnailKey = try BlobKey.generationThumbnail(user: generation.userID, generation: id, position: position, attempt: attemptToken)
                .rawValue
            row.format = output.format.rawValue
            row.width = output.width
            row.height = output.height
            row.bytes = output.image.count
            row.thumbnailBytes = output.thumbnail.count
            row.sha256 = output.sha256
            row.digitalSourceType = source.rawValue
            row.createdAt = now
            return row
        }
        let credits = app.pictor.credits
        let charged = GenerationPricing.charge(pricePerImage: generation.pricePerImage, delivered: rows.count, asked: generation.count)
        let recorded: Bool
        do {
            // All images and thumbnails at once, flushed with their names, before the rows commit.
            var blobs: [(key: BlobKey, data: Data)] = []
            for (row, output) in zip(rows, outputs) {
                blobs.append((try BlobKey(row.blobKey), try contentKey.seal(output.image)))
                blobs.append((try BlobKey(row.thumbnailKey), try contentKey.seal(output.thumbnail)))
            }
            try await app.pictor.blobs.put(all: blobs)
            recorded = try await writeTransaction(on: app.db) { tx -> Bool in
                guard
                    try await GenerationStore.move(
                        id, from: [.running], to: .succeeded, .init(creditsCharged: charged, progress: 1, modelUsed: usedModel), now: now, on: tx)
                else { return false }
                for row in rows { try await GenerationStore.insert(row, on: tx) }
                // The job ends with the generation: one commit for both.
                _ = try await context.complete(on: tx)
                try await credits.settle(
                    generation: id, user: generation.userID, held: generation.creditsHeld, captured: charged, now: now, on: tx)
                return true
            }
        } catch {
            await Self.removeUnrecordedBlobs(of: rows, generation: id, app: app)
            throw error
        }
        if recorded {
            app.pictor.generationEvents.changed(id)
            logger.info("generation succeeded", metadata: ["images": .stringConvertible(rows.count)])
        } else {
            await Self.removeBlobs(of: rows, app: app)
        }
    }

    /// After the final transaction failed: removes the attempt's bytes only when their rows are
    /// certainly not there. A transaction can commit and still report an error (the connection
    /// lost at `COMMIT`); its images must keep their bytes. When the rows cannot be read either,
    /// the bytes stay, and the sweeper removes them once it sees they have no row.
    static func removeUnrecordedBlobs(of rows: [GenerationImageModel], generation id: UUID, app: Application) async {
        guard let recorded = try? await GenerationStore.images(of: id, on: app.db) else { return }
        let recordedIDs = Set(recorded.compactMap(\.id))
        await removeBlobs(of: rows.filter { !recordedIDs.contains($0.id!) }, app: app)
    }

    /// Removes what an attempt stored but did not record (what this misses, the sweeper finds).
    private static func removeBlobs(of rows: [GenerationImageModel], app: Application) async {
        for row in rows {
            try? await app.pictor.blobs.delete(BlobKey(row.blobKey))
            try? await app.pictor.blobs.delete(BlobKey(row.thumbnailKey))
        }
    }

    /// What to send the provider; nil when a reference image has been deleted meanwhile.
    private func providerRequest(for generation: GenerationModel, key contentKey: ContentKey, app: Application) async throws -> GenerationRequest? {
        let referenceIDs = try generation.decodedReferenceIDs()
        var references: [Data] = []
        if !referenceIDs.isEmpty {
            let rows = try await ReferenceImageStore.find(referenceIDs, of: generation.userID, on: app.db)
            // In the order the person gave them (several providers start from the first).
            let byID = Dictionary(rows.map { ($0.id!, $0) }, uniquingKeysWith: { first, _ in first })
            let ordered = referenceIDs.compactMap { byID[$0] }
            guard ordered.count == referenceIDs.count else { return nil }
            for row in ordered { references.append(try contentKey.open(try await app.pictor.blobs.get(BlobKey(row.blobKey)))) }
        }
        let prompts = try contentKey.prompts(of: generation)
        return GenerationRequest(
            prompt: prompts.prompt, negativePrompt: prompts.negative,
            size: ImageSize(width: generation.width, height: generation.height), count: generation.count,
            seed: UInt64(generation.seed), style: generation.style, referenceImages: references,
            endUser: "u_" + String(app.pictor.secrets.mac("provider-end-user", generation.userID.uuidString).prefix(24)),
            idempotencyKey: generation.id!.uuidString.lowercased())
    }

    private struct OwnerCancelled: Error {}

    /// The first result delivered to it; later ones are ignored.
    private actor FirstResult<Value: Sendable> {
        private var result: Result<Value, any Error>?
        private var waiter: CheckedContinuation<Value, any Error>?

        func settle(with outcome: Result<Value, any Error>) {
            guard result == nil else { return }
            result = outcome
            waiter?.resume(with: outcome)
            waiter = nil
        }

        func value() async throws -> Value {
            if let result { return try result.get() }
            return try await withCheckedThrowingContinuation { waiter = $0 }
        }
    }

    /// The newest progress a provider reported, written to the database by the watcher.
    private final class LatestProgress: Sendable {
        let value = Mutex<Double?>(nil)
    }
}

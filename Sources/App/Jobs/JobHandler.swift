import Fluent
import Persistence
import Synchronization
import Vapor

/// Runs one kind of job. Throw `JobFailure.permanent` for a failure that would repeat;
/// anything else thrown is retried with backoff until the job's attempts run out.
public protocol JobHandler: Sendable {
    var kind: String { get }
    func run(_ job: ClaimedJob, context: JobContext) async throws
}

/// What a handler may use: the application (database, services) and a logger that
/// carries the job's id and kind on every line.
public struct JobContext: Sendable {
    public let application: Application
    public let logger: Logger
    let job: ClaimedJob
    let owner: String
    let completion: CompletionMark

    /// Marks the job done on `db`, inside the handler's own final transaction, so that its
    /// outcome and the job's completion commit together (the runner then does not repeat it).
    /// False when this worker no longer holds the lease. The runner learns of it when the
    /// statement succeeds, before the transaction commits: a handler that catches its
    /// transaction's failure and returns normally must complete the job itself (it is fenced
    /// by the lease, so calling it again is harmless).
    public func complete(on db: any Database) async throws -> Bool {
        let done = try await JobQueue.complete(job.id, owner: owner, now: application.pictor.queueClock.now, on: db)
        if done { completion.mark() }
        return done
    }
}

/// Whether a handler completed its job itself.
final class CompletionMark: Sendable {
    private let done = Atomic<Bool>(false)
    func mark() { done.store(true, ordering: .relaxed) }
    var isMarked: Bool { done.load(ordering: .relaxed) }
}

import Persistence
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
}

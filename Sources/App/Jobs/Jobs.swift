import Fluent
import Persistence
import Vapor

extension Application {
    /// The job queue's workers and handlers.
    public var jobs: JobRunner { pictor.jobs }

    /// Puts a job on the queue as part of whatever `db` is (a transaction composes),
    /// and wakes one of this process's idle workers.
    @discardableResult
    public func enqueue(_ job: NewJob, on db: any Database) async throws -> UUID {
        let id = try await JobQueue.enqueue(job, now: pictor.queueClock.now, on: db)
        jobs.wake.wakeOne()
        return id
    }
}

/// Starts the workers when `pictor serve` boots and stops them gracefully on shutdown.
struct JobWorkersLifecycle: LifecycleHandler {
    let runner: JobRunner

    func didBootAsync(_ application: Application) async throws {
        application.logger.info(
            "job workers starting",
            metadata: [
                "workers": .stringConvertible(runner.settings.concurrency), "owner": .string(runner.owner),
            ])
        runner.start(app: application)
    }

    func shutdownAsync(_ application: Application) async {
        await runner.stop()
    }
}

/// `pictor worker`: the job workers without the web server, until SIGTERM or SIGINT.
struct WorkerCommand: AsyncCommand {
    struct Signature: CommandSignature {}

    var help: String { "Runs the job workers (mail, generations, exports, sweeps) without the web server." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        // Listening before the workers start: a SIGTERM from now on stops them gracefully.
        let signals = TerminationSignal.stream()
        app.logger.notice("worker started", metadata: ["owner": .string(app.jobs.owner)])
        app.jobs.start(app: app)
        let received = await TerminationSignal.first(of: signals)
        app.logger.notice("worker stopping", metadata: ["signal": .string(received)])
        await app.jobs.stop()
    }
}

/// SIGTERM and SIGINT, caught from the moment `stream()` is called.
enum TerminationSignal {
    static func stream() -> AsyncStream<String> {
        AsyncStream<String> { continuation in
            let sources = SignalSources(
                [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")].map { number, name in
                    signal(number, SIG_IGN)
                    let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                    source.setEventHandler { continuation.yield(name) }
                    source.resume()
                    return source
                })
            continuation.onTermination = { _ in sources.cancel() }
        }
    }

    /// Waits for the first signal of `stream`.
    static func first(of stream: AsyncStream<String>) async -> String {
        for await name in stream { return name }
        return "SIGTERM"
    }

    /// Dispatch sources are thread-safe; this box only lets the stream's termination handler own them.
    private final class SignalSources: @unchecked Sendable {
        let sources: [any DispatchSourceSignal]
        init(_ sources: [any DispatchSourceSignal]) { self.sources = sources }
        func cancel() { for source in sources { source.cancel() } }
    }
}

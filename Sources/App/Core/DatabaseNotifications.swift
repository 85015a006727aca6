import FluentPostgresDriver
import Synchronization
import Vapor

/// Notifications from other Pictor processes on PostgreSQL (`LISTEN/NOTIFY`): one connection per
/// process listens on every channel its parts subscribed to and hands each notification's
/// payload to its subscriber, reconnecting after failures. One connection, not one per channel:
/// PostgreSQL wakes every listening connection of the database for every `NOTIFY`, whatever its
/// channels. On SQLite there is one process and nothing to listen for.
final class DatabaseNotifications: LifecycleHandler, Sendable {
    struct Subscription: Sendable {
        let channel: String
        /// True once the channel is listened on (again after each reconnection: what was sent
        /// while the connection was down is lost), false when the connection is lost.
        let listening: @Sendable (Bool) -> Void
        let received: @Sendable (_ payload: String) -> Void

        init(channel: String, listening: @escaping @Sendable (Bool) -> Void = { _ in }, received: @escaping @Sendable (String) -> Void) {
            self.channel = channel
            self.listening = listening
            self.received = received
        }
    }

    let subscriptions: [Subscription]
    /// How often the connection is asked a question, and how long it may take to answer before it
    /// counts as lost. A listening connection only ever receives: without the question, one
    /// that a firewall or load balancer dropped while idle (or a server that stopped answering)
    /// would look alive forever, and nothing would be heard again. The question also keeps an
    /// idle connection from being dropped.
    let checkInterval: Duration
    let answerWithin: Duration
    /// The connection's `application_name`, unique to this instance (tests find it by it).
    let connectionName = "pictor notifications \(UUID().uuidString.prefix(8))"
    private let background = BackgroundTask()

    init(_ subscriptions: [Subscription], checkInterval: Duration = .seconds(30), answerWithin: Duration = .seconds(10)) {
        self.subscriptions = subscriptions
        self.checkInterval = checkInterval
        self.answerWithin = answerWithin
    }

    func didBootAsync(_ application: Application) async throws {
        guard case .postgres(let url) = application.pictor.config.database, !subscriptions.isEmpty else { return }
        let logger = application.logger
        background.start { await self.listen(url: url, logger: logger) }
    }

    func shutdownAsync(_ application: Application) async {
        await background.stop()
    }

    /// Connections made so far (tests watch the pace of reconnection).
    var connectionsMade: Int { made.load(ordering: .relaxed) }
    private let made = Atomic<Int>(0)

    private func listen(url: String, logger: Logger) async {
        var delay = Duration.milliseconds(250)
        while !Task.isCancelled {
            var connectedAt: ContinuousClock.Instant?
            do {
                var configuration = try SQLPostgresConfiguration(url: url).coreConfiguration
                configuration.options.additionalStartupParameters = [("application_name", connectionName)]
                let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
                made.add(1, ordering: .relaxed)
                connectedAt = .now
                // Closed before going on (reconnecting, or returning at shutdown), not later in a
                // task of its own: after shutdown no session of this process is left on the database.
                do {
                    try await listenAll(on: connection, logger: logger)
                } catch {
                    try? await connection.close()
                    throw error
                }
                try? await connection.close()
            } catch {
                if Task.isCancelled { return }
                logger.warning("database notifications unavailable; job workers and event streams poll", metadata: ["error": .string("\(error)")])
                // Quick again only after a connection that lasted: one whose LISTEN fails at once
                // (a hot standby, a pooler that refuses it) is retried ever more slowly, not four
                // times a second for good.
                if let connectedAt, ContinuousClock.now - connectedAt >= checkInterval { delay = .milliseconds(250) }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(30))
            }
        }
    }

    /// Each channel on the one connection, and the check that it still answers; when one fails
    /// (the connection is gone), all stop and it throws.
    private func listenAll(on connection: PostgresConnection, logger: Logger) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for subscription in subscriptions {
                group.addTask {
                    try await connection.listen(on: subscription.channel) { notifications in
                        subscription.listening(true)
                        defer { subscription.listening(false) }
                        for try await notification in notifications { subscription.received(notification.payload) }
                    }
                    throw ListenEnded()
                }
            }
            group.addTask { try await self.checkAnswers(connection, logger: logger) }
            try await group.next()
        }
    }

    /// Every `checkInterval`, `SELECT 1`; throws when the answer does not come within
    /// `answerWithin` (or the question fails).
    private func checkAnswers(_ connection: PostgresConnection, logger: Logger) async throws {
        while true {
            try await Task.sleep(for: checkInterval)
            guard await answers(connection, logger: logger) else { throw NoAnswer() }
        }
    }

    /// Whether `connection` answers `SELECT 1` within `answerWithin`. The question runs in a task
    /// of its own, not waited for when it is late: a connection that does not answer does not give
    /// the question back either, until it is closed.
    private func answers(_ connection: PostgresConnection, logger: Logger) async -> Bool {
        let (outcomes, outcome) = AsyncStream<Bool>.makeStream()
        Task {
            do {
                for try await _ in try await connection.query("SELECT 1", logger: logger) {}
                outcome.yield(true)
            } catch {
                outcome.yield(false)
            }
        }
        let late = Task {
            guard (try? await Task.sleep(for: answerWithin)) != nil else { return }
            outcome.yield(false)
        }
        defer { late.cancel() }
        for await answered in outcomes { return answered }
        return false  // cancelled: shutting down
    }

    private struct ListenEnded: Error {}
    private struct NoAnswer: Error, CustomStringConvertible {
        var description: String { "the connection did not answer SELECT 1 in time (or failed it)" }
    }

    /// What a process listens for: a server, changes to generations (for its event streams); a
    /// process with workers, new jobs.
    static func subscriptions(for roles: ProcessRoles, events: GenerationEvents, jobs: JobRunner) -> [Subscription] {
        (roles.serves ? [GenerationNotifications.subscription(for: events)] : []) + (roles.runsWorkers ? [jobs.notifications] : [])
    }
}

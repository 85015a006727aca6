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
    /// The connection's `application_name`, unique to this instance (tests find it by it).
    let connectionName = "pictor notifications \(UUID().uuidString.prefix(8))"
    private let task = Mutex<Task<Void, Never>?>(nil)

    init(_ subscriptions: [Subscription]) {
        self.subscriptions = subscriptions
    }

    func didBootAsync(_ application: Application) async throws {
        guard case .postgres(let url) = application.pictor.config.database, !subscriptions.isEmpty else { return }
        let logger = application.logger
        task.withLock { $0 = Task { await self.listen(url: url, logger: logger) } }
    }

    func shutdownAsync(_ application: Application) async {
        guard let running = task.withLock({ $0 }) else { return }
        running.cancel()
        await running.value
    }

    private func listen(url: String, logger: Logger) async {
        var delay = Duration.milliseconds(250)
        while !Task.isCancelled {
            do {
                var configuration = try SQLPostgresConfiguration(url: url).coreConfiguration
                configuration.options.additionalStartupParameters = [("application_name", connectionName)]
                let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
                delay = .milliseconds(250)
                defer { Task { try? await connection.close() } }
                // Each channel on the same connection; when one fails (the connection is gone),
                // all stop and the connection is made again.
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
                    try await group.next()
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("database notifications unavailable; job workers and event streams poll", metadata: ["error": .string("\(error)")])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(30))
            }
        }
    }

    private struct ListenEnded: Error {}

    /// What a process listens for: a server, changes to generations (for its event streams); a
    /// process with workers, new jobs.
    static func subscriptions(for roles: ProcessRoles, events: GenerationEvents, jobs: JobRunner) -> [Subscription] {
        (roles.serves ? [GenerationNotifications.subscription(for: events)] : []) + (roles.runsWorkers ? [jobs.notifications] : [])
    }
}

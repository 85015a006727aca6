import Fluent
import FluentPostgresDriver
import Foundation
import Persistence
import Synchronization
import Vapor

/// Tells this process about changes to generations made by other Pictor processes. On
/// PostgreSQL every change announces itself on `GenerationStore.changesChannel` (in the
/// statement that makes it, delivered at commit); each server process `LISTEN`s there and wakes
/// its own followers. On SQLite there is one process and `GenerationEvents.changed` is enough.
enum GenerationNotifications {
    /// Listens for other processes' changes while `pictor serve` runs (PostgreSQL only).
    final class Listener: LifecycleHandler, Sendable {
        private let task = Mutex<Task<Void, Never>?>(nil)

        func didBootAsync(_ application: Application) async throws {
            guard case .postgres(let url) = application.pictor.config.database else { return }
            let events = application.pictor.generationEvents
            let logger = application.logger
            task.withLock { $0 = Task { await Self.listen(url: url, events: events, logger: logger) } }
        }

        func shutdownAsync(_ application: Application) async {
            guard let running = task.withLock({ $0 }) else { return }
            running.cancel()
            await running.value
        }

        private static func listen(url: String, events: GenerationEvents, logger: Logger) async {
            var delay = Duration.milliseconds(250)
            while !Task.isCancelled {
                do {
                    let configuration = try SQLPostgresConfiguration(url: url).coreConfiguration
                    let connection = try await PostgresConnection.connect(configuration: configuration, id: 2, logger: logger)
                    delay = .milliseconds(250)
                    defer { Task { try? await connection.close() } }
                    try await connection.listen(on: GenerationStore.changesChannel) { notifications in
                        for try await notification in notifications {
                            if let id = UUID(uuidString: notification.payload) { events.changed(id) }
                        }
                    }
                } catch {
                    if Task.isCancelled { return }
                    logger.warning("generation notifications unavailable; event streams poll", metadata: ["error": .string("\(error)")])
                    try? await Task.sleep(for: delay)
                    delay = min(delay * 2, .seconds(30))
                }
            }
        }
    }
}

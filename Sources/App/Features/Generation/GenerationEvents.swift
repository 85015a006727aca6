import Foundation
import Synchronization
import Vapor

/// Wakes whoever follows a generation (its event stream) when it changes in this process.
/// Changes made by other processes are seen by the followers' periodic re-read (and, on
/// PostgreSQL, by the `LISTEN` that calls `changed` here; see `GenerationNotifications`).
final class GenerationEvents: Sendable {
    private struct Watch {
        let signal = WakeSignal()
        var followers = 0
    }

    private let watches = Mutex<[UUID: Watch]>([:])
    private let closing = Atomic<Bool>(false)

    /// True once the process is shutting down: streams end (their clients reconnect to another
    /// process) instead of holding the server's shutdown until its timeout.
    var isClosing: Bool { closing.load(ordering: .relaxed) }

    /// Ends every stream at its next step.
    func closeAll() {
        closing.store(true, ordering: .relaxed)
        for signal in watches.withLock({ $0.values.map(\.signal) }) { signal.wakeAll() }
    }

    /// Ends the event streams when `pictor serve` shuts down, first of all (registered last).
    struct Closer: LifecycleHandler {
        let events: GenerationEvents
        func shutdownAsync(_ application: Application) async { events.closeAll() }
    }

    /// Wakes every follower of `id`.
    func changed(_ id: UUID) {
        watches.withLock { $0[id]?.signal }?.wakeAll()
    }

    /// How many streams follow `id` now.
    func followers(of id: UUID) -> Int {
        watches.withLock { $0[id]?.followers ?? 0 }
    }

    /// Runs `body` with a signal that wakes when `id` changes.
    func follow<T>(_ id: UUID, _ body: (WakeSignal) async throws -> T) async rethrows -> T {
        let signal = watches.withLock { watches -> WakeSignal in
            var watch = watches[id] ?? Watch()
            watch.followers += 1
            watches[id] = watch
            return watch.signal
        }
        defer {
            watches.withLock { watches in
                guard var watch = watches[id] else { return }
                watch.followers -= 1
                watches[id] = watch.followers > 0 ? watch : nil
            }
        }
        return try await body(signal)
    }
}

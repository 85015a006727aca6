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
    /// Open event streams per user, in this process.
    private let streams = Mutex<[UUID: Int]>([:])
    /// How many event streams one user may hold open in one process: each holds a connection
    /// and re-reads the database every 2 s. A page needs one; a script should poll beyond that.
    let maxStreamsPerUser: Int
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

    init(maxStreamsPerUser: Int = 20) {
        self.maxStreamsPerUser = maxStreamsPerUser
    }

    /// A place for one more of `user`'s event streams, or nil when they hold `maxStreamsPerUser`.
    /// The place is given back by `release()`, or when the stream is dropped without running.
    func reserveStream(for user: UUID) -> StreamPlace? {
        let taken = streams.withLock { streams -> Bool in
            guard streams[user, default: 0] < maxStreamsPerUser else { return false }
            streams[user, default: 0] += 1
            return true
        }
        guard taken else { return nil }
        return StreamPlace { [weak self] in
            self?.streams.withLock { streams in
                let left = streams[user, default: 1] - 1
                streams[user] = left > 0 ? left : nil
            }
        }
    }

    /// How many event streams `user` holds open in this process.
    func streams(of user: UUID) -> Int {
        streams.withLock { $0[user] ?? 0 }
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

/// One user's place among their open event streams; given back once, by `release()` or when
/// dropped (a response whose body never ran still gives its place back).
final class StreamPlace: Sendable {
    private let giveBack: @Sendable () -> Void
    private let given = Atomic<Bool>(false)

    init(giveBack: @escaping @Sendable () -> Void) {
        self.giveBack = giveBack
    }

    func release() {
        if !given.exchange(true, ordering: .relaxed) { giveBack() }
    }

    deinit { release() }
}

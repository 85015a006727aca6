import Foundation
import Synchronization

/// Wakes idle workers when a job is enqueued (in this process, or on PostgreSQL by
/// `NOTIFY` from any process). A worker waits for a wake-up or for its poll interval,
/// whichever comes first, so a missed signal costs at most one interval. A wake-up that finds
/// nobody waiting (every worker busy, or one between a claim that found nothing and its wait)
/// is kept, and the next wait returns at once.
///
/// One new job in this process wakes one idle worker (`wakeOne`; on PostgreSQL its
/// notification at commit one more, see `JobRunner.notified`): waking them all sent every idle
/// worker to race for the same row, and the losers' claims (a read, a write that finds
/// nothing, a look for abandoned jobs) cost the database more than the job itself.
final class WakeSignal: Sendable {
    private struct State {
        var waiters: [UUID: CheckedContinuation<Void, Never>] = [:]
        /// A wake-up that found nobody waiting, for the next wait (one is enough: a worker that
        /// finds a job claims again at once, without waiting).
        var missed = false
    }

    private let state = Mutex(State())

    func wakeAll() {
        let waiters = state.withLock { state in
            defer { state.waiters.removeAll() }
            if state.waiters.isEmpty { state.missed = true }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// How many are waiting now (tests look).
    var waiting: Int { state.withLock { $0.waiters.count } }

    /// Wakes one waiting worker; with nobody waiting, the next wait returns at once.
    func wakeOne() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let id = state.waiters.keys.first else {
                state.missed = true
                return nil
            }
            return state.waiters.removeValue(forKey: id)
        }
        waiter?.resume()
    }

    /// Returns on the next `wakeAll` or `wakeOne` that picks it (at once if one found nobody
    /// waiting since the last wait), after `timeout`, or when the task is cancelled.
    func wait(upTo timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: timeout) }
            group.addTask { await self.nextWake() }
            await group.next()
            group.cancelAll()
        }
    }

    private func nextWake() async {
        let id = UUID()
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                // Cancelled before getting here: the handler below found nothing to resume.
                let resumeNow = state.withLock { state -> Bool in
                    if Task.isCancelled { return true }
                    if state.missed {
                        state.missed = false
                        return true
                    }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            // Nil when a wake-up already took it, or when it has not registered yet (then it sees
            // the cancellation above, under the same lock).
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}

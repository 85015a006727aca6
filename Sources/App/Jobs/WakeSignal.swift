import Foundation
import Synchronization

/// Wakes idle workers when a job is enqueued (in this process, or on PostgreSQL by
/// `NOTIFY` from any process). A worker waits for a wake-up or for its poll interval,
/// whichever comes first, so a missed signal costs at most one interval.
///
/// One new job wakes one idle worker (`wakeOne`): waking them all sent every idle worker to
/// race for the same row, and the losers' claims (a read, a write that finds nothing, a look
/// for abandoned jobs) cost the database more than the job itself.
final class WakeSignal: Sendable {
    private struct State {
        var waiters: [UUID: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    func wakeAll() {
        let waiters = state.withLock { state in
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        waiters.forEach { $0.resume() }
    }

    /// How many are waiting now (tests look).
    var waiting: Int { state.withLock { $0.waiters.count } }

    /// Wakes one waiting worker, if any is waiting.
    func wakeOne() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let id = state.waiters.keys.first else { return nil }
            return state.waiters.removeValue(forKey: id)
        }
        waiter?.resume()
    }

    /// Returns on the next `wakeAll` or `wakeOne` that picks it, after `timeout`, or when the task is cancelled.
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

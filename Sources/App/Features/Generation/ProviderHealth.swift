import Domain
import Foundation
import Synchronization

/// Each model's circuit breaker and recent calls, in this process: the router asks it before
/// calling a provider, and the admin console shows it.
final class ProviderHealth: Sendable {
    struct Row: Sendable, Equatable {
        let model: String
        let state: CircuitBreaker.State
        let successes: Int
        let failures: Int
        /// Median of the last calls, in milliseconds (nil before the first success).
        let medianLatency: Int?
        /// The newest trouble the provider reported, in its own words (scrubbed), and when.
        let lastProblem: Problem?
    }

    struct Problem: Sendable, Equatable {
        let text: String
        let at: Date
    }

    private struct Stats {
        var breaker: CircuitBreaker
        var successes = 0
        var failures = 0
        var latencies: [Double] = []
        /// Calls out now.
        var calls = 0
        var lastProblem: Problem?
    }

    private let stats = Mutex<[String: Stats]>([:])
    let threshold: Int
    let cooldown: TimeInterval
    /// Most calls one model may have out at once (`MAX_CALLS_PER_MODEL`).
    let callLimit: Int

    init(threshold: Int = 5, cooldown: TimeInterval = 30, callLimit: Int = 64) {
        self.threshold = threshold
        self.cooldown = cooldown
        self.callLimit = callLimit
    }

    /// What asking to call a model now gets.
    enum Reservation: Equatable {
        /// Call it, and then `release` it. The admission says whether this is the breaker's trial.
        case granted(CircuitBreaker.Admission)
        /// Its breaker is open: no call before the date (its trial time, or soon when the trial
        /// call is still out).
        case resting(until: Date)
        /// It has `callLimit` calls out.
        case busy
    }

    /// Takes one of the model's call slots if its breaker and its limit allow a call now.
    func reserve(_ model: String, now: Date) -> Reservation {
        update(model) { entry in
            guard entry.calls < callLimit else { return .busy }
            switch entry.breaker.admit(now: now) {
            case .refused:
                return .resting(until: entry.breaker.trialAt ?? now.addingTimeInterval(min(cooldown, 5)))
            case let admission:
                entry.calls += 1
                return .granted(admission)
            }
        }
    }

    /// Gives back the slot a granted reservation took.
    func release(_ model: String) {
        update(model) { entry in entry.calls = max(entry.calls - 1, 0) }
    }

    func recordSuccess(_ model: String, latency: Duration) {
        let milliseconds = latency.seconds * 1000
        update(model) { entry in
            entry.breaker.recordSuccess()
            entry.successes += 1
            entry.latencies = Array((entry.latencies + [milliseconds]).suffix(50))
        }
    }

    /// A failure that says something about the provider's health (timeouts, 429, 5xx); a
    /// refused prompt or a blocked image does not count.
    func recordFailure(_ model: String, now: Date) {
        update(model) { entry in
            entry.breaker.recordFailure(now: now)
            entry.failures += 1
        }
    }

    /// A call that ended without saying anything about the provider's health (a refusal, a
    /// cancellation), admitted as `admission`: if it was the trial call, the breaker opens again
    /// and the next call is the trial; any other call changes nothing.
    func recordAbandoned(_ model: String, admission: CircuitBreaker.Admission) {
        guard admission == .trial else { return }
        update(model) { entry in entry.breaker.recordAbandonedTrial() }
    }

    /// Keeps a provider's account of a failure (or of a cancel it refused) for the operator's
    /// console, scrubbed of paths and addresses.
    func recordProblem(_ model: String, _ text: String, now: Date = Date()) {
        let problem = Problem(text: ProviderText.scrubbed(text), at: now)  // outside the lock every worker uses
        update(model) { entry in entry.lastProblem = problem }
    }

    /// Changes one model's entry under the lock (a model seen for the first time starts with a
    /// closed breaker).
    private func update<T>(_ model: String, _ change: (inout Stats) -> T) -> T {
        stats.withLock { stats in
            var entry = stats[model] ?? Stats(breaker: CircuitBreaker(threshold: threshold, cooldown: cooldown))
            defer { stats[model] = entry }
            return change(&entry)
        }
    }

    func rows(for models: [String]) -> [Row] {
        stats.withLock { stats in
            models.map { model in
                let entry = stats[model]
                let sorted = (entry?.latencies ?? []).sorted()
                return Row(
                    model: model, state: entry?.breaker.state ?? .closed, successes: entry?.successes ?? 0,
                    failures: entry?.failures ?? 0, medianLatency: sorted.isEmpty ? nil : Int(sorted[sorted.count / 2].rounded()),
                    lastProblem: entry?.lastProblem)
            }
        }
    }
}

import Foundation

/// When a failed job runs again: exponential backoff with jitter, up to a cap,
/// and no more runs after its last attempt.
public struct RetryPolicy: Sendable, Equatable {
    /// Delay before the second attempt; each later attempt doubles it.
    public var baseDelay: TimeInterval
    public var maxDelay: TimeInterval
    /// Fraction of the delay drawn at random (0.2 = ±20 %), so failed jobs spread out.
    public var jitter: Double

    public init(baseDelay: TimeInterval = 2, maxDelay: TimeInterval = 600, jitter: Double = 0.2) {
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.jitter = jitter
    }

    /// The delay after attempt number `attempt` (1-based) failed. `unit` is a random number in 0..<1.
    public func delay(afterAttempt attempt: Int, unit: Double) -> TimeInterval {
        let exponent = Double(max(attempt - 1, 0))
        let plain = min(baseDelay * pow(2, min(exponent, 30)), maxDelay)
        return max(0, plain * (1 + jitter * (2 * unit - 1)))
    }

    /// What happens to a job whose attempt failed.
    public func decide(
        attempt: Int, maxAttempts: Int, failure: JobFailure, now: Date, unit: Double
    ) -> JobDecision {
        if case .permanent = failure { return .bury }
        if case .postponed(let until, _) = failure { return .postpone(at: until) }
        guard attempt < maxAttempts else { return .bury }
        return .retry(at: now.addingTimeInterval(delay(afterAttempt: attempt, unit: unit)))
    }
}

/// How a job's attempt failed.
public enum JobFailure: Error, Sendable, Equatable {
    /// Worth trying again later (a timeout, a 503, a lost connection).
    case retryable(String)
    /// Will fail the same way every time (bad payload, refused by a provider).
    case permanent(String)
    /// Could not start now, through nobody's fault (its provider is resting after failures, or
    /// busy with as many calls as it may have): runs again at `until`, and this run was not an
    /// attempt. What ends a job that keeps being postponed is the handler's own deadline.
    case postponed(until: Date, reason: String)

    public var message: String {
        switch self {
        case .retryable(let message), .permanent(let message), .postponed(_, let message): message
        }
    }
}

public enum JobDecision: Sendable, Equatable {
    case retry(at: Date)
    /// Runs again at the date without having used an attempt.
    case postpone(at: Date)
    /// No more attempts: the job goes to the dead-letter state for an admin to see.
    case bury
}

/// The states a job row moves through.
public enum JobState: String, Sendable, Codable, CaseIterable {
    case queued, running, succeeded, dead
}

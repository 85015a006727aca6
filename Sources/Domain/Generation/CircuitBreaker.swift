import Foundation

/// A circuit breaker for one provider. After `threshold` failures in a row it opens: calls are
/// not made (the router fails over or the generation waits) until `cooldown` has passed; then
/// one trial call is let through (half-open): success closes it, failure opens it again, and a
/// call that ends without a verdict (refused, cancelled) lets the next call be the trial.
public struct CircuitBreaker: Sendable, Equatable {
    public enum State: String, Sendable, Equatable {
        case closed, open
        case halfOpen = "half-open"
    }

    public let threshold: Int
    public let cooldown: TimeInterval
    public private(set) var state: State = .closed
    public private(set) var consecutiveFailures = 0
    public private(set) var openedAt: Date?

    public init(threshold: Int = 5, cooldown: TimeInterval = 30) {
        self.threshold = threshold
        self.cooldown = cooldown
    }

    /// What a call asking now may do.
    public enum Admission: Sendable, Equatable {
        case refused
        case allowed
        /// The one call let through after the cooldown: its outcome closes or reopens the breaker.
        case trial
    }

    /// Whether a call may be made now. Moving from open to half-open lets exactly one through.
    public mutating func admit(now: Date) -> Admission {
        switch state {
        case .closed: return .allowed
        case .halfOpen: return .refused  // the trial call is still out
        case .open:
            guard let openedAt, now.timeIntervalSince(openedAt) >= cooldown else { return .refused }
            state = .halfOpen
            return .trial
        }
    }

    /// When an open breaker lets its trial call through; nil when it is not open.
    public var trialAt: Date? {
        guard state == .open, let openedAt else { return nil }
        return openedAt.addingTimeInterval(cooldown)
    }

    public mutating func recordSuccess() {
        state = .closed
        consecutiveFailures = 0
        openedAt = nil
    }

    /// The trial call (`admit` said `.trial`) ended without a verdict on the provider (refused,
    /// cancelled). Left half-open, the breaker would refuse every call for good: it opens again
    /// as it was, its cooldown already served, so the next call is the trial. Only for the
    /// trial: another call abandoned meanwhile would let a second trial out beside it.
    public mutating func recordAbandonedTrial() {
        if state == .halfOpen { state = .open }
    }

    public mutating func recordFailure(now: Date) {
        consecutiveFailures += 1
        if state == .halfOpen || consecutiveFailures >= threshold {
            state = .open
            openedAt = now
        }
    }
}

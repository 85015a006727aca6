import Foundation

/// A circuit breaker for one provider. After `threshold` failures in a row it opens: calls are
/// not made (the router fails over or the generation waits) until `cooldown` has passed; then
/// one trial call is let through (half-open): success closes it, failure opens it again.
public struct CircuitBreaker: Sendable, Equatable {
    public enum State: String, Sendable, Equatable { case closed, open, halfOpen = "half-open" }

    public let threshold: Int
    public let cooldown: TimeInterval
    public private(set) var state: State = .closed
    public private(set) var consecutiveFailures = 0
    public private(set) var openedAt: Date?

    public init(threshold: Int = 5, cooldown: TimeInterval = 30) {
        self.threshold = threshold
        self.cooldown = cooldown
    }

    /// Whether a call may be made now. Moving from open to half-open lets exactly one through.
    public mutating func allows(now: Date) -> Bool {
        switch state {
        case .closed: return true
        case .halfOpen: return false  // the trial call is still out
        case .open:
            guard let openedAt, now.timeIntervalSince(openedAt) >= cooldown else { return false }
            state = .halfOpen
            return true
        }
    }

    public mutating func recordSuccess() {
        state = .closed
        consecutiveFailures = 0
        openedAt = nil
    }

    public mutating func recordFailure(now: Date) {
        consecutiveFailures += 1
        if state == .halfOpen || consecutiveFailures >= threshold {
            state = .open
            openedAt = now
        }
    }
}

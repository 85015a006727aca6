/// What the pipeline does when a provider call fails.
public enum FailureDecision: Sendable, Equatable {
    /// Try again later (the job is rescheduled with backoff); the generation goes back to queued.
    case retry(reason: String)
    /// End the generation as failed, with a reason for the person.
    case fail(reason: String)
    /// End the generation as blocked (the provider's safety filter refused it).
    case block(reason: String)
    /// The owner cancelled it; nothing more to do.
    case cancelled
}

public enum GenerationFailurePolicy {
    /// Decides a failed attempt. Retryable errors are retried while attempts remain;
    /// the last one fails the generation with the last reason.
    public static func decide(_ error: ProviderError, attempt: Int, maxAttempts: Int) -> FailureDecision {
        switch error {
        case .retryable(let reason):
            return attempt < maxAttempts
                ? .retry(reason: reason)
                : .fail(reason: "The image model kept failing (\(reason)). Please try again later.")
        case .permanent(let reason):
            return .fail(reason: "The image model could not make this: \(reason)")
        case .blocked(let reason):
            return .block(reason: "The image model's safety filter refused this request: \(reason)")
        case .cancelled:
            return .cancelled
        }
    }

    /// The reason shown when a model did not answer in time.
    public static func timeoutReason(seconds: Int) -> String {
        "the model did not answer within \(seconds) seconds"
    }
}

/// Credits a generation costs: the model's price per image times the images asked for;
/// on settlement only delivered images are charged.
public enum GenerationPricing {
    public static func hold(pricePerImage: Int, count: Int) -> Int { pricePerImage * count }

    public static func charge(pricePerImage: Int, delivered: Int, asked: Int) -> Int {
        pricePerImage * min(delivered, asked)
    }
}

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
    /// Decides a failed attempt. Retryable errors are retried while attempts remain; the last
    /// one fails the generation. The reason for a failure is a plain sentence for the person:
    /// a provider's own text (which can name its server's folders and addresses) goes to the
    /// operator instead, scrubbed (`ProviderText`). A safety refusal keeps the provider's
    /// category, scrubbed, because people ask why they were refused.
    public static func decide(_ error: ProviderError, attempt: Int, maxAttempts: Int) -> FailureDecision {
        switch error {
        case .retryable(let reason):
            return attempt < maxAttempts ? .retry(reason: reason) : .fail(reason: Self.keptFailing)
        case .permanent:
            return .fail(reason: Self.couldNotRun)
        case .blocked(let reason):
            return .block(reason: "The image model's safety filter refused this request: \(ProviderText.scrubbed(reason))")
        case .cancelled:
            return .cancelled
        }
    }

    public static let keptFailing = "The image model failed or did not answer, several times. Please try again later."
    public static let couldNotRun = "The image model could not run this request."

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

import Domain
import Foundation
import Testing

@Suite struct GenerationPolicyTests {
    @Test func retryableErrorsAreRetriedUntilTheLastAttempt() {
        #expect(GenerationFailurePolicy.decide(.retryable("HTTP 503"), attempt: 1, maxAttempts: 3) == .retry(reason: "HTTP 503"))
        guard case .fail(let reason) = GenerationFailurePolicy.decide(.retryable("HTTP 503"), attempt: 3, maxAttempts: 3) else {
            Issue.record("the last attempt must fail the generation")
            return
        }
        #expect(reason == GenerationFailurePolicy.keptFailing, "the provider's text is the operator's")
    }

    @Test func permanentAndBlockedEndAtOnce() {
        guard
            case .fail(GenerationFailurePolicy.couldNotRun) = GenerationFailurePolicy.decide(
                .permanent("full_output_folder: /srv/ComfyUI/output"), attempt: 1, maxAttempts: 3),
            case .block(let reason) = GenerationFailurePolicy.decide(.blocked("violence"), attempt: 1, maxAttempts: 3)
        else {
            Issue.record("permanent must fail and blocked must block on the first attempt")
            return
        }
        #expect(reason.contains("violence"))
        #expect(GenerationFailurePolicy.decide(.cancelled, attempt: 1, maxAttempts: 3) == .cancelled)
    }

    @Test func onlyDeliveredImagesAreCharged() {
        #expect(GenerationPricing.hold(pricePerImage: 3, count: 4) == 12)
        #expect(GenerationPricing.charge(pricePerImage: 3, delivered: 2, asked: 4) == 6)
        #expect(GenerationPricing.charge(pricePerImage: 3, delivered: 9, asked: 4) == 12)
        #expect(GenerationPricing.charge(pricePerImage: 3, delivered: 0, asked: 4) == 0)
    }

    @Test func sizesReadAsWidthByHeight() {
        #expect(ImageSize(text: "1024x768") == ImageSize(width: 1024, height: 768))
        #expect(ImageSize(text: "512X512") == ImageSize(width: 512, height: 512))
        for bad in ["", "512", "x512", "512x", "512x512x2", "axb"] { #expect(ImageSize(text: bad) == nil, "\(bad)") }
    }

    @Test func stateMovesFollowTheLifecycle() {
        #expect(GenerationState.queued.canMove(to: .running))
        #expect(GenerationState.running.canMove(to: .succeeded))
        #expect(!GenerationState.succeeded.canMove(to: .cancelled))
        #expect(!GenerationState.failed.canMove(to: .running))
    }
}

@Suite struct CircuitBreakerTests {
    let start = Date(timeIntervalSince1970: 1_000_000)

    @Test func opensAfterTheThresholdAndTriesOnceAfterTheCooldown() {
        var breaker = CircuitBreaker(threshold: 3, cooldown: 30)
        for _ in 0..<2 { breaker.recordFailure(now: start) }
        let early = breaker.admit(now: start)
        #expect(breaker.state == .closed && early == .allowed)
        breaker.recordFailure(now: start)
        let cooling = breaker.admit(now: start.addingTimeInterval(29))
        #expect(breaker.state == .open && cooling == .refused)
        let trial = breaker.admit(now: start.addingTimeInterval(30))  // the one trial
        #expect(trial == .trial)
        let second = breaker.admit(now: start.addingTimeInterval(31))
        #expect(breaker.state == .halfOpen && second == .refused)
        breaker.recordFailure(now: start.addingTimeInterval(31))
        let reopened = breaker.admit(now: start.addingTimeInterval(40))
        #expect(breaker.state == .open && reopened == .refused)
        let again = breaker.admit(now: start.addingTimeInterval(61))
        #expect(again == .trial)
        breaker.recordSuccess()
        let closed = breaker.admit(now: start.addingTimeInterval(62))
        #expect(breaker.state == .closed && breaker.consecutiveFailures == 0 && closed == .allowed)
    }

    /// A trial call that ends without a verdict (the prompt refused, the owner cancelling)
    /// must not leave the breaker half-open, refusing every call for good: the next call is the trial.
    @Test func aTrialWithoutAVerdictLetsTheNextCallTry() {
        var breaker = CircuitBreaker(threshold: 1, cooldown: 30)
        breaker.recordFailure(now: start)
        let trial = breaker.admit(now: start.addingTimeInterval(30))
        #expect(trial == .trial && breaker.state == .halfOpen)
        breaker.recordAbandonedTrial()
        let next = breaker.admit(now: start.addingTimeInterval(31))
        #expect(next == .trial, "no call is let through after an abandoned trial")
        // A closed breaker is left as it is.
        breaker.recordSuccess()
        breaker.recordAbandonedTrial()
        #expect(breaker.state == .closed && breaker.admit(now: start) == .allowed)
    }

    @Test func aSuccessResetsTheCount() {
        var breaker = CircuitBreaker(threshold: 2, cooldown: 30)
        breaker.recordFailure(now: start)
        breaker.recordSuccess()
        breaker.recordFailure(now: start)
        #expect(breaker.state == .closed)
    }
}
